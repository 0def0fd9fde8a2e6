-- Air-quality station: particulates, CO2 and temperature.
-- Payload, FPort 2: uint16 BE PM2.5 and PM10 in 0.1 µg/m³, uint16 BE CO2
-- in ppm, int16 BE temperature in 0.01 °C.
function decodeUplink(input)
  local b = input.bytes
  if input.fPort ~= 2 or #b < 8 then
    return { errors = { "expected 8 bytes on FPort 2" } }
  end
  local function u16(i) return b[i] * 256 + b[i + 1] end
  local t = u16(7)
  if t >= 32768 then t = t - 65536 end
  return {
    data = { pm2_5 = u16(1) / 10, pm10 = u16(3) / 10, co2 = u16(5), temperature = t / 100 },
    units = { pm2_5 = "ug/m3", pm10 = "ug/m3", co2 = "ppm", temperature = "Cel" },
    warnings = {}, errors = {},
  }
end
