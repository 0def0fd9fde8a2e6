-- On-street parking bay sensor.
-- Payload, FPort 3: uint8 occupied (0 free, 1 taken), int8 temperature °C,
-- uint16 BE count of cars since installation.
function decodeUplink(input)
  local b = input.bytes
  if input.fPort ~= 3 or #b < 4 then
    return { errors = { "expected 4 bytes on FPort 3" } }
  end
  local t = b[2]
  if t >= 128 then t = t - 256 end
  return {
    data = { occupied = b[1] == 1, temperature = t, cars = b[3] * 256 + b[4] },
    units = { occupied = "1", temperature = "Cel", cars = "1" },
    warnings = {}, errors = {},
  }
end
