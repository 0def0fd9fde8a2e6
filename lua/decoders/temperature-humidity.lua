-- Temperature and humidity sensor (e.g. a room or street-cabinet probe).
-- Payload, FPort 1: int16 BE temperature in 0.01 °C, uint8 humidity in
-- 0.5 %RH, uint8 battery in 0.02 V above 2.0 V.
-- TTN/ChirpStack contract: decodeUplink(input) -> {data, warnings, errors}.
function decodeUplink(input)
  local b = input.bytes
  if input.fPort ~= 1 or #b < 4 then
    return { errors = { "expected 4 bytes on FPort 1, got " .. #b .. " on " .. tostring(input.fPort) } }
  end
  local t = b[1] * 256 + b[2]
  if t >= 32768 then t = t - 65536 end
  local data = { temperature = t / 100, humidity = b[3] / 2, battery = 2 + b[4] * 0.02 }
  local warnings = {}
  if data.battery < 2.5 then warnings[1] = "battery low" end
  return { data = data, warnings = warnings, errors = {},
           units = { temperature = "Cel", humidity = "%RH", battery = "V" } }
end
