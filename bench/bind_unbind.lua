-- wrk script: binds and unbinds in turn on the instance bench-bind-instance (created by run.sh).
local service = "9bf6d9ad-db1c-479b-ba8e-648564c66a55"
local plan = "700556d0-4a22-4ed7-8a5c-004d693b5286"
local base = "/v2/service_instances/bench-bind-instance/service_bindings/"
local thread_id = 0

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  prefix = "b-" .. id .. "-" .. tostring(os.time()) .. "-"
  counter = 0
  pending_delete = nil
end

local function headers(with_body)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  if with_body then h["Content-Type"] = "application/json" end
  return h
end

request = function()
  if pending_delete then
    local path = pending_delete .. "?service_id=" .. service .. "&plan_id=" .. plan
    pending_delete = nil
    return wrk.format("DELETE", path, headers(false))
  end
  counter = counter + 1
  local path = base .. prefix .. counter
  last_put = path
  return wrk.format("PUT", path, headers(true),
                    '{"service_id":"' .. service .. '","plan_id":"' .. plan .. '"}')
end

-- The DELETE follows only a PUT that was answered: wrk calls request() once before the run
-- without sending it.
response = function(status, headers, body)
  if status == 201 then
    pending_delete = last_put
  elseif status ~= 200 then
    print("unexpected status " .. status .. ": " .. body)
  end
end
