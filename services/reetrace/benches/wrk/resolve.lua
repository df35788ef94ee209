-- Each request resolves one of the registered serials, round robin.
wrk.headers["Accept"] = "application/json"
local paths = {}
for line in io.lines(os.getenv("RESOLVE_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
