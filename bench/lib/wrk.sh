# Sourced by the benchmarks: wrk against $url, paced or flat out.
# Needs $work, $url, $connections, $seconds. With RATE set, wrk is paced by a
# Lua delay(): one schedule of send times, RATE per second, shared by the
# connections (a connection whose slot has passed sends at once; a backlog
# of more than 100 ms is forgotten rather than sent in a burst).
#
#   wrk_setup          writes the pacing script (when RATE is set)
#   wrk_measure        prints "requests/s p99_ms" of one run
wrk_setup() {
    pace=()
    [ -n "${RATE:-}" ] || return 0
    cat > "$work/pace.lua" <<LUA
-- Send times RATE per second, one schedule for every connection (wrk's delay() is in ms).
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } pace_timespec; int clock_gettime(int, pace_timespec *); ]]
local ts = ffi.new("pace_timespec")
local interval = 1000 / $RATE
local slot = nil
function delay()
    ffi.C.clock_gettime(1, ts)
    local now = tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
    if slot == nil or slot < now - 100 then slot = now end
    local wait = slot - now
    slot = slot + interval
    return math.floor(wait + 0.5)
end
LUA
    pace=(-s "$work/pace.lua")
}

wrk_measure() {
    wrk -t1 -c"$connections" -d"${seconds}s" --latency "${pace[@]}" "$url" | awk '
        /Requests\/sec/ { rps = $2 }
        $1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } p99 = v }
        END { printf "%.0f %.3f\n", rps, p99 }'
}
