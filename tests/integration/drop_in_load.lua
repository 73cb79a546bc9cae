-- wrk script for plugin_drop_in.sh and plugin_isolation.sh: each connection reads the catalog,
-- provisions an instance and deprovisions it, over and over, and reports any other answer.
-- Arguments (after wrk's --): SERVICE_ID PLAN_ID of a synchronous plan; without them, the abi_1_0
-- fixture's.
local service = "f0000000-0000-4000-8000-000000000014"
local plan = "f0000000-0000-4000-8000-000000000114"
local thread_id = 0

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  service = args[1] or service
  plan = args[2] or plan
  prefix = "drop-" .. id .. "-" .. tostring(os.time()) .. "-"
  counter = 0
  step = 0
  unexpected = 0
end

local function headers(with_body)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  if with_body then h["Content-Type"] = "application/json" end
  return h
end

request = function()
  step = step % 3 + 1
  if step == 1 then
    return wrk.format("GET", "/v2/catalog", headers(false))
  elseif step == 2 then
    counter = counter + 1
    current = "/v2/service_instances/" .. prefix .. counter
    return wrk.format("PUT", current, headers(true), '{"service_id":"' .. service ..
                      '","plan_id":"' .. plan .. '","organization_guid":"o","space_guid":"s"}')
  end
  return wrk.format("DELETE", current .. "?service_id=" .. service .. "&plan_id=" .. plan,
                    headers(false))
end

response = function(status, headers, body)
  if status ~= 200 and status ~= 201 then
    unexpected = unexpected + 1
    print("unexpected status " .. status .. ": " .. body)
  end
end
