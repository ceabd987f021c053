# Sourced by ./tandem: a linked runtime image (jlink) of the JDK modules and Tandem's core modules, which the
# launcher runs the CPU-side commands from.
#
# Why: a JVM started on the module path resolves its boot layer at every start, reading each jar (58 with the
# server's, the load generator's and the planner's libraries) and binding the services of every JDK module
# they pull in: "Initialize module system" took 0.20-0.24 s of a cold `generate` here, and the incubator
# module keeps the JDK from archiving that work. From the image the same resolution takes 7-25 ms, since its
# modules are few and linked in (docs/benchmarks.md, "CLI start-up").
#
# What it holds: kernels, runtime-core with picocli and Jackson, and the LPU emulator (a device backend the
# CPU commands use), plus the JDK modules they require and JFR. jlink takes only explicit modules, so the
# GPU backends (JCuda is an automatic module) and the modules above runtime-core (serve, bench-serve,
# factory, whose libraries are automatic modules) run as before, from the JDK on the module path.
# Built in a few seconds when a jar in it is newer than the image; a JDK that cannot link one is not asked
# again until the jars change (tandem-image.failed), and those runs use the module path.

tandem_image="$root/runtime-core/target/tandem-image"

# tandem_fresh FILE INPUT...: FILE exists and no INPUT is newer. Bash's own test, not find: the launcher asks it
# on every start, and each process it forks costs a few milliseconds.
tandem_fresh() {
  local file="$1" input
  shift
  [ -f "$file" ] || return 1
  for input in "$@"; do
    if [ "$input" -nt "$file" ]; then
      return 1
    fi
  done
}

# tandem_image_jars: the jars the image links, into the array tandem_jars (no subshell: the launcher asks on every start).
tandem_image_jars() {
  local jar
  tandem_jars=()
  for jar in "$root"/kernels/target/tandem-*.jar "$root"/runtime-core/target/tandem-*.jar "$root"/runtime-core/target/lib/*.jar \
             "$root"/device-lpu-sim/target/tandem-*.jar "$root"/device-lpu-sim/target/lib/*.jar; do
    [ -f "$jar" ] || continue
    case "$jar" in *-tests.jar|*-sources.jar) continue ;; esac
    tandem_jars+=("$jar")
  done
}

# tandem_image_serves ARGS...: whether the command line needs nothing outside the image. The commands that use
# only the CPU and emulated LPUs; not `run` without --pool (its default pool takes every present backend), not
# `devices` or `calibrate` (they look at every backend), and not an argument that names a GPU backend
# (--device opencl, --pool cpu,cuda; a prompt that happens to contain the word only costs the faster start).
tandem_image_serves() {
  local arg pool=0
  for arg in "$@"; do
    case "$arg" in
      *[Oo][Pp][Ee][Nn][Cc][Ll]*|*[Cc][Uu][Dd][Aa]*) return 1 ;;
      --pool|--pool=*) pool=1 ;;
    esac
  done
  case "${1:-}" in # the subcommand comes first (before it, only the top level's -h and -V, which list every command)
    generate|tokenize|info|bench|compile|device-bench) return 0 ;;
    run) [ "$pool" = 1 ] ;;
    *) return 1 ;;
  esac
}

# tandem_image_ready: builds the image when missing or older than a jar in it; false when it cannot be had.
tandem_image_ready() {
  local tandem_jars
  tandem_image_jars
  local jars=("${tandem_jars[@]}")
  [ "${#jars[@]}" -gt 0 ] || return 1
  local stamp
  for stamp in "$tandem_image/release" "$tandem_image.failed"; do
    if tandem_fresh "$stamp" "${jars[@]}"; then
      [ "$stamp" = "$tandem_image/release" ]
      return
    fi
  done
  local tmp="$tandem_image.$$" path
  path=$(IFS=:; echo "${jars[*]}")
  rm -rf "$tmp" "$tandem_image.failed"
  # Debug information stays (stack traces keep their line numbers); nothing is compressed (a start would
  # pay to expand it).
  if "$JAVA_HOME/bin/jlink" --module-path "$path" --add-modules dev.tandem.runtime,dev.tandem.device.lpu,jdk.jfr,jdk.management.jfr \
       --no-header-files --no-man-pages --output "$tmp" >/dev/null 2>&1; then
    if tandem_fresh "$tandem_image/release" "${jars[@]}"; then
      rm -rf "$tmp" # another launcher linked one meanwhile, and a JVM may be running from it: keep that one
    else
      rm -rf "$tandem_image"
      mv -T "$tmp" "$tandem_image" 2>/dev/null || rm -rf "$tmp"
    fi
    [ -f "$tandem_image/release" ]
  else
    rm -rf "$tmp"
    touch "$tandem_image.failed"
    return 1
  fi
}
