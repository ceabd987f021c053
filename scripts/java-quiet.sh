# Sourced by ./tandem: runs java with its stderr passed through, minus one line.
#
# A JVM that resolves jdk.incubator.vector prints "WARNING: Using incubator modules: jdk.incubator.vector"
# as its first stderr line, and no option turns it off (ModuleBootstrap.checkIncubatingStatus prints it
# unconditionally; the JDK has no flag, system property or logger for it). So that exact line, and only
# as the first line, is dropped; everything else reaches stderr unchanged and as it is written.

tandem_drop_incubator_warning() {
  local first
  if IFS= read -r first; then
    [ "$first" = "WARNING: Using incubator modules: jdk.incubator.vector" ] || printf '%s\n' "$first"
    exec cat
  fi
  printf '%s' "$first" # stderr that ended without a newline
}

# tandem_java ARGS...: "$JAVA_HOME/bin/java" ARGS..., returning java's exit status. Stdout goes straight
# through (fd 3); only stderr passes the filter, and the pipeline waits for the filter to finish.
tandem_java() {
  local status
  { "$JAVA_HOME/bin/java" "$@" 2>&1 1>&3 3>&- | tandem_drop_incubator_warning >&2 3>&-; status=${PIPESTATUS[0]}; } 3>&1
  return "$status"
}
