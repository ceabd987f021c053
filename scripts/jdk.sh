# Sourced by ./tandem, ./run-tests and .ci/run: finds a JDK 25 or newer and exports JAVA_HOME.
# Order: $JAVA_HOME if it is one, then the newest qualifying /usr/lib/jvm/*, else a clear error.

tandem_java_major() {
  # Prints the feature version of the JDK at $1, or nothing when $1 is not a JDK.
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  local spec="" line
  # JAVA_VERSION="25.0.3" in the release file, read without a subprocess (the launcher asks on every start).
  if [ -r "$1/release" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      case "$line" in JAVA_VERSION=\"*) spec=${line#JAVA_VERSION=\"}; spec=${spec%%\"*}; break ;; esac
    done < "$1/release"
  fi
  [ -n "$spec" ] || spec=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  spec=${spec#1.}
  echo "${spec%%[.+-]*}"
}

tandem_find_jdk() {
  local major
  if [ -n "${JAVA_HOME:-}" ]; then
    major=$(tandem_java_major "$JAVA_HOME")
    if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null; then
      return 0
    fi
  fi
  local best="" bestMajor=0 dir
  for dir in /usr/lib/jvm/*; do
    [ -d "$dir" ] && [ ! -L "$dir" ] || continue
    major=$(tandem_java_major "$dir") || continue
    if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null && [ "$major" -gt "$bestMajor" ]; then
      best=$dir
      bestMajor=$major
    fi
  done
  if [ -z "$best" ]; then
    echo "tandem: needs a JDK 25 or newer (with jdk.incubator.vector)." >&2
    echo "  JAVA_HOME=${JAVA_HOME:-<unset>} is not one, and none was found under /usr/lib/jvm." >&2
    echo "  Install one, e.g. 'apt-get install temurin-25-jdk' (Adoptium) or unpack a JDK 25 and set JAVA_HOME." >&2
    return 1
  fi
  export JAVA_HOME=$best
}

tandem_find_jdk || exit 1
export PATH="$JAVA_HOME/bin:$PATH"
