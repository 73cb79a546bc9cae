-- wrk script: every request provisions a new instance on the example plugin's sync plan.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  prefix = "bench-" .. id .. "-" .. tostring(os.time()) .. "-" .. math.random(1000000) .. "-"
end

request = function()
  counter = counter + 1
  local body = '{"service_id":"9bf6d9ad-db1c-479b-ba8e-648564c66a55",' ..
               '"plan_id":"700556d0-4a22-4ed7-8a5c-004d693b5286",' ..
               '"organization_guid":"bench-org","space_guid":"bench-space"}'
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  return wrk.format("PUT", "/v2/service_instances/" .. prefix .. counter, headers, body)
end

response = function(status, headers, body)
  if status ~= 201 then
    print("unexpected status " .. status .. ": " .. body)
  end
end
