#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/: a handful of real
inputs each, from the LoRaWAN 1.0 test vectors (frames, keys, Cayenne LPP,
GWMP) and the shapes the docs give.  Run it again after changing a seed."""
import base64
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- LoRaWAN frames (PHYPayload) ---------------------------------------------
FRAME_FPORT1 = bytes.fromhex("40F17DBE4900020001954378762B11FF0D")
FRAME_16BIT = bytes.fromhex("40da1b012600452302a0df0f204124ce79")   # DevAddr 26011BDA, FCnt 0x2345
FRAME_32BIT = bytes.fromhex("40da1b012600452302a0df0f2058e8cfd6")   # the same with FCnt 0x00012345
CAYENNE = bytes.fromhex("03670110056700FF")  # ch 3: 27.2 Cel, ch 5: 25.5 Cel
GW_EUI = bytes.fromhex("AA555A0000000001")


def rxpk(phy, **extra):
    o = {"tmst": 3512348611, "chan": 2, "rfch": 0, "freq": 868.5, "stat": 1, "modu": "LORA",
         "datr": "SF7BW125", "codr": "4/5", "rssi": -35, "lsnr": 5.1, "size": len(phy),
         "data": base64.b64encode(phy).decode()}
    o.update(extra)
    return o


def push_data(body, token=0x1234):
    return bytes([2]) + struct.pack(">H", token) + bytes([0]) + GW_EUI + json.dumps(body).encode()


def join_request(dev_nonce=0xf18e):
    # MHDR 0x00, JoinEUI, DevEUI (little-endian), DevNonce, MIC (the harness signs it)
    return (bytes([0]) + bytes(8) + bytes.fromhex("0004A30B001C0531")[::-1] +
            struct.pack("<H", dev_nonce) + bytes(4))


def data_up(dev_addr, fcnt, fport, payload, confirmed=False):
    mhdr = 0x80 if confirmed else 0x40
    return (bytes([mhdr]) + struct.pack("<I", dev_addr) + bytes([0]) + struct.pack("<H", fcnt & 0xffff) +
            bytes([fport]) + payload + bytes(4))


# gwmp: one datagram
write("lora_gwmp", "push_data", push_data({"rxpk": [rxpk(FRAME_FPORT1)]}))
write("lora_gwmp", "push_data_stat", push_data({
    "rxpk": [rxpk(FRAME_16BIT), rxpk(FRAME_32BIT, stat=-1, time="2026-11-22T10:00:00.123456Z")],
    "stat": {"time": "2026-11-22 10:00:00 GMT", "lati": 49.5938, "long": 17.2509, "alti": 220,
             "rxnb": 2, "rxok": 1, "rxfw": 1, "ackr": 100.0, "dwnb": 0, "txnb": 0}}))
write("lora_gwmp", "pull_data", bytes([2, 0x12, 0x34, 2]) + GW_EUI)
write("lora_gwmp", "tx_ack", bytes([2, 0x01, 0x02, 5]) + GW_EUI + b'{"txpk_ack":{"error":"TOO_LATE"}}')
write("lora_gwmp", "v1_push_ack", bytes([1, 0xab, 0xcd, 1]))


# uplink: records of (flags, length, bytes); see uplink.c
def records(*recs):
    out = b""
    for flags, data in recs:
        out += bytes([flags, len(data)]) + data
    return out


RAW, SIGN, FINISH, ENCRYPT = 1, 2, 4, 8
write("lora_uplink", "vector_16bit", records((0, FRAME_16BIT)))
write("lora_uplink", "vector_then_32bit", records((FINISH, FRAME_16BIT), (SIGN, FRAME_32BIT)))
write("lora_uplink", "cayenne_twice_replay", records(
    (SIGN | ENCRYPT | FINISH, data_up(0x26011BDA, 7, 1, CAYENNE)),
    (SIGN | ENCRYPT, data_up(0x26011BDA, 7, 1, CAYENNE)),
    (SIGN | ENCRYPT, data_up(0x26011BDA, 8, 2, bytes.fromhex("016700FF027100010002FFFF0388077C3F01CEFE000C80")))))
write("lora_uplink", "confirmed_mac", records((SIGN | ENCRYPT, data_up(0x26011BDA, 9, 0, bytes.fromhex("0203")))))
write("lora_uplink", "join_then_pull", records(
    (RAW, bytes([2, 0x12, 0x34, 2]) + GW_EUI), (SIGN, join_request()), (SIGN, join_request())))
write("lora_uplink", "raw_push_data", records((RAW, push_data({"rxpk": [rxpk(FRAME_FPORT1)]}))))

# cayenne: FRMPayloads
write("lora_cayenne", "two_temperatures", CAYENNE)
write("lora_cayenne", "gps", bytes.fromhex("018806765FF2960A0003E8"))
write("lora_cayenne", "mixed", bytes.fromhex("016700FF02680F03710001000200030465012C05730276067186000100020003"))
write("lora_cayenne", "truncated", bytes.fromhex("0367"))

# csv: device lists
write("lora_csv", "abp", "dev_eui,dev_addr,nwk_skey,app_skey,decoder,name,lat,lon\n"
      "0004A30B001C0530,26011BDA,44024241ed4ce9a68c6a8bc055233fd3,ec925802ae430ca77fd3dd73cb2cc588,cayenne,"
      "\"Náměstí, u kašny\",49.5938,17.2509\n")
write("lora_csv", "otaa_bom_crlf", "\ufeffdev_eui,join_eui,app_key,relax_fcnt,name\r\n"
      "0004A30B001C0531,0000000000000000,98929b92c49edba9676d646d3b612456,true,\"say \"\"hi\"\"\"\r\n"
      "0004A30B001C0532,,98929b92c49edba9676d646d3b612456,0,\"two\nlines\"\r\n")
write("lora_csv", "header_only", "dev_eui,lat,lon\n")

# config: the town's file, and small ones
with open(os.path.join(HERE, "..", "..", "examples", "town", "mestys.json"), "rb") as f:
    write("config", "town", f.read())
write("config", "comments", '// a town\n{\n  /* block\n     comment */ "node": {"name": "lhota", "http": {"listen": '
      '"127.0.0.1:8080"}},\n  "bus": {"queue_depth": 1024, "peers": [{"events": "tcp://10.0.0.2:7001"}]},\n'
      '  "plugins": [{"use": "lora", "config": {"dedup_ms": 200}}, {"use": "x.lua", "required": false}],\n'
      '  "tokens": [{"name": "it", "token": "0123456789abcdef0123", "role": "admin"}]\n}\n')
write("config", "control_bytes", '\ufeff{\x01"node":\x1f{"name": "a"}\x02, "plugins": [1\x03]}')

# time: ISO 8601 and Unix ms (the first eight bytes also read as a double)
write("time", "utc", "2026-11-21T10:00:00.250Z")
write("time", "zone", "2026-11-21T10:00:00+01:00")
write("time", "date", "2026-11-21")
write("time", "edges", "9999-12-31T23:59:59.999Z")
write("time", "double", struct.pack("<d", 1795255200500.0))

# opendata: path?query, Accept, the store's page
PAGE = json.dumps({"readings": [
    {"time": "2026-11-21T10:00:00.000Z", "sensor": "s1", "metric": "temperature", "value": 21.5,
     "unit": "Cel", "lat": 49.5938, "lon": 17.2509},
    {"time": "2026-11-21T10:05:00.000Z", "sensor": "s2", "metric": "humidity", "value": 40,
     "unit": "%RH", "lat": 49.59, "lon": 17.25}], "next": "20413.1.2.1795255200000"}, separators=(",", ":"))
write("opendata", "json_page", "datasets/air/data.json?from=2026-11-21&to=2026-11-22T00:00:00%2B01:00&limit=2\n\n" + PAGE)
write("opendata", "csv_bom_cursor", "datasets/air/data.csv?cursor=20413.1.2.1795255200000&bom=1&metric=temperature\n\n" + PAGE)
write("opendata", "geojson_bbox", "datasets/air/data?bbox=17.20,49.55,17.30,49.62&sensor=s1,s2\n"
      "text/html;q=0.9, application/geo+json\n" + PAGE)
write("opendata", "events", "datasets/notices/data.csv?limit=1\n\n" + json.dumps({"events": [
    {"topic": "notice", "time": "2026-11-21T10:00:00.000Z", "body": {"text": "Voda"}}], "next": "e17"}))
write("opendata", "metadata", "datasets/air\n\n")
write("opendata", "catalog", "catalog\napplication/ld+json\n")
write("opendata", "bad_params", "datasets/air/data.json?form=2026&limit=0&cursor=x\n\n")

# lua_json: JSON as scripts get it
write("lua_json", "uplink", json.dumps([{"dev_eui": "0004A30B001C0530", "fcnt": 9, "port": 1,
                                         "payload": "A2cBEAVnAP8=", "rx": [{"rssi": -35, "snr": 5.1}]}]))
write("lua_json", "numbers", "[0, -0, 1e300, -1.5, 9007199254740993, 1e-7, 0.1, true, false, null]")
write("lua_json", "nested", '{"a": {"b": {"c": [1, [2, [3, {"d": "\\u00e9\\n"}]]]}}, "": []}')

# opendata: a store's answer shorter than "next":" and one that starts with it
# (next_cursor looks for the key from the end without stepping before the reply)
write("opendata", "short_answer", "datasets/air/data.json\n\n{}")
write("opendata", "next_first", 'datasets/air/data.csv\n\n"next":"1.2.3.4"')

# store_query: store/query bodies as the docs and opendata send them
write("store_query", "readings", json.dumps({"sensors": ["s1", "s2"], "metrics": ["temperature"],
                                             "from": "2026-11-21T00:00:00Z", "to": "2026-11-23T00:00:00Z",
                                             "bbox": [14.0, 49.0, 18.0, 51.0], "limit": 1}))
write("store_query", "cursor", json.dumps({"limit": 2, "cursor": "20413.1.1.1795255200000",
                                           "fields": ["time", "sensor", "value", "lat"]}))
write("store_query", "tags", json.dumps({"tags": {"street": "Husova"}, "limit": 100}))
write("store_query", "latest", json.dumps({"latest": True, "limit": 1}))
write("store_query", "hourly", json.dumps({"aggregate": "hour", "limit": 1, "from": "1969-12-31T00:00:00Z"}))
write("store_query", "events", json.dumps({"events": "charging/#", "limit": 1, "cursor": "e1"}))
write("store_query", "out_of_range", '{"limit": 1e300, "cursor": "99999999999999999999.1.1.1", "bbox": [1e999, 0, 0, 0]}')

# pgstore_query: the same bodies, with the region's "<town>/<name>" sensors and its "town" tag
write("pgstore_query", "readings", json.dumps({"sensors": ["lhota/s1", "lhota/x/y"], "metrics": ["temperature"],
                                               "from": "2026-11-21T00:00:00Z", "to": "2026-11-23T00:00:00Z",
                                               "bbox": [14.0, 49.0, 18.0, 51.0], "limit": 1}))
write("pgstore_query", "cursor", json.dumps({"limit": 2, "cursor": "20413.1.1.1795255200000",
                                             "fields": ["time", "sensor", "value", "lat"]}))
write("pgstore_query", "tags", json.dumps({"tags": {"town": "lhota", "street": "Husova", "n": 1, "ok": True}}))
write("pgstore_query", "hourly", json.dumps({"aggregate": "hour", "latest": False, "cursor": "0.1.1.-17259976"}))
write("pgstore_query", "events", json.dumps({"events": "charging/#", "limit": 1, "cursor": "e1"}))
write("pgstore_query", "not_utf8", b'{"sensors": ["\xc3\x28"], "tags": {"a": "\xed\xa0\x80"}}')
write("pgstore_query", "out_of_range", '{"limit": 1e300, "cursor": "99999999999999999999.1.1.1", "bbox": [1e999, 0, 0, 0]}')

# charging_tariff: a tariff and a StopTransaction's meter readings, as docs/plugins/charging-site.md gives them
TX_DATA = [
    {"timestamp": "2026-11-27T10:00:00Z",
     "sampledValue": [{"value": "1000", "context": "Transaction.Begin", "measurand": "Energy.Active.Import.Register"}]},
    {"timestamp": "2026-11-27T10:30:00Z",
     "sampledValue": [{"value": "5.5", "unit": "kWh"}, {"value": "2300", "phase": "L1"},
                      {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
                      {"value": "AbCd", "format": "SignedData"}]},
    {"timestamp": "2026-11-27T11:45:30+01:00", "sampledValue": [{"value": "13345", "context": "Transaction.End"}]}]
write("charging_tariff", "session", json.dumps({
    "tariff": {"currency": "CZK", "per_kwh": "7.90", "per_minute": 1, "minutes": "plugged", "per_session": 10,
               "vat": 21},
    "meterStart": 1000, "meterStop": 13345, "start": "2026-11-27T10:00:00Z", "stop": "2026-11-27T10:45:30Z",
    "transactionData": TX_DATA}))
write("charging_tariff", "meter_replaced", json.dumps({
    "tariff": {"per_minute": "0.50", "minutes": "charging", "vat": 10.5},
    "meterStart": 900000, "meterStop": 800, "start": "2026-11-27T10:00:00Z", "stop": "2026-11-27T11:00:00Z",
    "transactionData": [{"timestamp": "2026-11-27T10:10:00Z", "sampledValue": [{"value": "901000"}]},
                        {"timestamp": "2026-11-27T10:30:00Z", "sampledValue": [{"value": "12"}]}]}))
write("charging_tariff", "bad", '{"tariff": {"per_kwh": 7.905}, "meterStop": 1e300, '
      '"transactionData": [{"timestamp": "x", "sampledValue": [{"value": "nan"}]}]}')

# charging_site: a connector mask, then a Lua policy's answer
write("charging_site", "fair", bytes([0b011111]) + b"[6000, 6000, 3680, 3680, 6000]")
write("charging_site", "greedy_held", bytes([0b1011111]) + b"[22000, 11000, 7360, 3680, 1e300]")
write("charging_site", "nonsense", bytes([0b000011]) + b'[-5, {"w": 1}]')

# charging_booking: bookings as the operator API takes them
write("charging_booking", "fleet_day", json.dumps([
    {"id_tag": "CAR-01", "station": "CP-1", "connector": 2, "from": "2026-11-27T08:00:00Z",
     "to": "2026-11-27T10:00:00Z"},
    {"id_tag": "car-01", "station": "CP-9", "connector": 1, "from": "2026-11-27T09:00:00Z",
     "to": "2026-11-27T11:00:00Z"},
    {"id_tag": "CAR-02", "station": "CP-1", "from": "2026-11-27T09:59:00+01:00", "to": "2026-11-27T12:00:00Z"},
    {"id_tag": "CAR-03", "site": "depot", "from": "2026-11-27", "to": "2026-11-28"}]))
write("charging_booking", "bad", '[{"id_tag": "TWENTY-ONE-CHARACTERS", "station": "s", "from": "2026-11-27", '
      '"to": "2026-11-27"}, {"id_tag": "C", "site": "d", "connector": 1.5}, 7, {"x": 1}]')

# charging_station: a handshake's Authorization header, then a charge point's messages, one per line
basic = "Basic " + base64.b64encode(b"CP-1:correct-horse-battery").decode()
session = [
    '[2,"1","BootNotification",{"chargePointVendor":"Městys","chargePointModel":"Test-22"}]',
    '[2,"2","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Preparing"}]',
    '[2,"3","Authorize",{"idTag":"CARD-OK"}]',
    '[2,"4","StartTransaction",{"connectorId":1,"idTag":"CARD-OK","meterStart":1000,"timestamp":"2026-11-27T10:00:00Z"}]',
    '[2,"5","MeterValues",{"connectorId":1,"transactionId":1,"meterValue":[{"timestamp":"2026-11-27T10:10:00Z",'
    '"sampledValue":[{"value":"2.5","unit":"kWh"},{"value":"7200","measurand":"Power.Active.Import","unit":"W"}]}]}]',
    '[3,"00000000-0000-4000-8000-000000000000",{"status":"Accepted"}]',
    '[2,"6","StopTransaction",{"transactionId":1,"meterStop":5000,"timestamp":"2026-11-27T10:30:00Z","idTag":"CARD-OK",'
    '"transactionData":[{"timestamp":"2026-11-27T10:30:00Z","sampledValue":[{"value":"5000"}]}]}]',
    '[2,"7","DataTransfer",{"vendorId":"x"}]',
    '[2,"8","Heartbeat",{}]',
]
write("charging_station", "session", "\n".join([basic] + session))
write("charging_station", "bad", "\n".join(["Basic Q1AtMTo=", "not json", '[2,"1","Heartbeat"]', '[2,"2","Reset",{"type":"Soft"}]',
                                             '[4,"x","GenericError","",{}]', '[2,"3","Authorize",{"idTag":5}]']))
# voting: ballots as voters send them, codes and receipts as typed, the register CSV
write("voting_ballot", "approval", json.dumps({"code": "ABCDE-FGHJK-MNPQR-STVWX-YZ01C", "projects": [1, 3]}))
write("voting_ballot", "cumulative", json.dumps({"code": "x", "points": {"1": 4, "12": 3, "2": 3}}))
write("voting_ballot", "knapsack_over", json.dumps({"projects": [2, 7]}))
write("voting_ballot", "twice", json.dumps({"projects": [3, 3.0, 1e300, -1, "1"]}))
write("voting_ballot", "code", "abcde-fghjk-mnpqr-stvwx-yz01c")
write("voting_ballot", "receipt", "ABCDE FGHJK MNPQR STVWX YZ01I")
write("voting_register", "letters", "\ufeffvoter,name,address\r\nv1,\"Novák, Jan\",Husova 1\r\nv2,\"say \"\"hi\"\"\",\"two\nlines\"\r\n")
write("voting_register", "voter_only", "address,voter\nHusova 3,v3\n\nNerudova 4,v4\n")
write("voting_register", "unclosed", "voter,name\nv1,\"open\n")
write("voting_identity", "voter", 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"voter": "jana"}')
write("voting_identity", "refused", 'HTTP/1.1 403 Forbidden\r\n\r\n{"error": "unknown login"}')
write("voting_identity", "not_http", "SSH-2.0-OpenSSH_9.2\r\n")

# --- the region's answers to uplink (docs/plugins/uplink.md) ---------------
write("uplink_answer", "committed", '{"town": "lhota", "epoch": 8123456789012345, "committed": 1450, '
      '"stored": 250, "duplicate": 0, "out_of_window": 0}')
write("uplink_answer", "position", '{"epoch": 8123456789012345, "committed": 1200}')
write("uplink_answer", "position_none", '{"epoch": null, "committed": 0}')
write("uplink_answer", "refused", '{"error": "line 17: value: not a number"}')
write("uplink_answer", "retry_after", "120")
write("uplink_answer", "retry_date", "Fri, 27 Nov 2026 21:10:00 GMT")
# ws_subprotocol: a Sec-WebSocket-Protocol header, then the server's subprotocols, one a line
write("ws_subprotocol", "ocpp", "ocpp1.6\nhttp\nocpp1.6")
write("ws_subprotocol", "choice", "ocpp2.0.1, ocpp1.6\nhttp\nocpp1.6\nocpp2.0.1")
write("ws_subprotocol", "unknown", "mqtt,  ,chat\nhttp\nocpp1.6")
write("ws_subprotocol", "prefix", "ocpp1.6x ocpp1\nocpp1.6")

# http_static_path: a request path as lws hands it over, a newline, a mount's img_src
write("http_static_path", "page", "/charging/admin.html\nhttps://tile.openstreetmap.org")
write("http_static_path", "folder", "/lib/\nhttps://*.tiles.example.org:8443/z/ https:")
write("http_static_path", "escapes", "/%2e%2e/%252e%252e%252fetc/.env\nhttps://a.org; script-src *")
write("http_static_path", "utf8", "/voting/%C4%8Desky%20text.html\n")
# charging_rpc: OCPP-J 1.6 messages as charge points send them (the specification's examples and
# what ocpp-rpc writes), and a few that are refused
BOOT = {"chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger", "firmwareVersion": "1.0"}
write("charging_rpc", "boot", json.dumps([2, "19223201", "BootNotification", BOOT]))
write("charging_rpc", "heartbeat", '[2,"a0b1c2d3-0000-4000-8000-000000000001","Heartbeat",{}]')
write("charging_rpc", "status", json.dumps([2, "2", "StatusNotification", {
    "connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": "2026-11-27T10:00:00Z"}]))
write("charging_rpc", "start", json.dumps([2, "3", "StartTransaction", {
    "connectorId": 1, "idTag": "04A2B3C4D5E6F7", "meterStart": 0, "timestamp": "2026-11-27T10:00:00.123+01:00"}]))
write("charging_rpc", "meter", json.dumps([2, "4", "MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": [
    {"timestamp": "2026-11-27T10:05:00Z", "sampledValue": [
        {"value": "1200", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW", "context": "Sample.Periodic"}]}]}]))
write("charging_rpc", "stop", json.dumps([2, "5", "StopTransaction", {
    "transactionId": 7, "meterStop": 15000, "timestamp": "2026-11-27T11:00:00Z", "reason": "Local"}]))
write("charging_rpc", "result", json.dumps([3, "A", {"status": "Accepted", "currentTime": "2026-11-27T10:00:00Z",
                                                     "interval": 300}]))
write("charging_rpc", "profile_result", json.dumps([3, "J", {"connectorId": 1, "csChargingProfiles": {
    "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Absolute",
    "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}]}}}]))
write("charging_rpc", "error", '[4,"162376037","NotSupported","SetDisplayMessageRequest not implemented",{}]')
write("charging_rpc", "error_short", '[4,"x","RpcFrameworkError","Message must be an array"]')
write("charging_rpc", "firmware", json.dumps([2, "6", "UpdateFirmware", {
    "location": "ftp://user@[2001:db8::7]:21/fw/1.2.bin?x=1#y", "retrieveDate": "2026-11-27T23:59:60Z"}]))
write("charging_rpc", "bad_json", '[2,"7","Heartbeat",{"a":01,"b":"\u0000"}] x')
write("charging_rpc", "bad_shape", '[2,"1234567890123456789012345678901234567","Heartbeat"]')
# --- pabulib .pb files (voting_pb); run.sh adds the shared reference instances
write("voting_pb", "cumulative_quoted", 'META\nkey;value\nbudget;10\nvote_type;cumulative\ndescription;"a;b ""c"""\n'
      'PROJECTS\nproject_id;cost;name\n1;4;"x;y"\n2;6.00;\nVOTES\nvoter_id;vote;points\na;1,2;3,7\nb;;\n')
write("voting_pb", "ties_crlf", "META\r\nkey;value\r\nbudget;8\r\nPROJECTS\r\nproject_id;cost\r\n9;4\r\n10;4\r\n5;0\r\n"
      "VOTES\r\nvoter_id;vote\r\n1;9,10\r\n2;10,9,5\r\n3;\r\n")

# web_config: the web plugin's config block, a colour, a tile URL, a logo's first bytes
write("web_config", "town", json.dumps({"town": {"name": {"cs": "Dolní Lhota", "en": "Dolni Lhota"}},
      "colors": {"brand": "#1f4e79", "brand_text": "#ffffff", "accent": "#b34700"},
      "tiles": {"url": "https://{s}.tile.example.org/{z}/{x}/{y}.png", "attribution": "© OpenStreetMap",
                "max_zoom": 18}, "logo": "/etc/mestys/logo.svg", "default_lang": "en"}))
write("web_config", "low-contrast", '{"town":{"name":{"cs":"A"}},"colors":{"brand":"#777","brand_text":"#fff"}}')
write("web_config", "colour", "#1F4E79")
write("web_config", "tiles", "http://127.0.0.1:8081/{z}/{x}/{y}.png?key={r}")
write("web_config", "png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")

# manifest_parse: a bundle's manifest.json as `mestys bundle pack` writes it (docs/sdk.md), and near misses
MANIFEST = {"abi": 1, "arch": "amd64", "files": {
    "doc/README.md": "2af20e5fcd2770d18f59dfee4d948fc4e2a3058e5869bf306126b019b78af5a0",
    "lora.so": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"},
    "format": 1, "host": ">= 0.1.0, < 0.2.0", "kind": "so", "name": "lora", "version": "1.2.0"}
write("manifest_parse", "so", json.dumps(MANIFEST, indent=2, sort_keys=True) + "\n")
write("manifest_parse", "lua", json.dumps(dict(MANIFEST, arch="all", kind="lua", name="parking",
      version="0.3.0-rc.1+b7", host="0", files={"parking.lua": MANIFEST["files"]["lora.so"],
      "lua/parking/decode.lua": MANIFEST["files"]["doc/README.md"]}), sort_keys=True))
write("manifest_parse", "dotdot", json.dumps(dict(MANIFEST, files={"../lora.so": MANIFEST["files"]["lora.so"]})))
write("manifest_parse", "extra_key", json.dumps(dict(MANIFEST, signed_by="x")))

# version_range: a range, then versions one a line
write("version_range", "issue", ">= 0.4.0, < 0.6.0\n0.4.0\n0.6.0-rc1\n0.6.0\n0.5.99\n")
write("version_range", "pgxn", ">= 1.2.0, != 1.5.0, < 2.0.0\n1.5.0\n1.0.0-alpha.1\n1.0.0-alpha.beta\n1.0.0+b\n")
write("version_range", "any", "0\n0.0.0\n99999999999999999999.0.0\n1.0.0-x-y-z.--\n")
write("version_range", "bare", "1.2.0\n1.10.0\n1.2.0-rc.1\n")
# pgstore_batch: a town's batch as docs/plugins/pgstore.md shows it, plain and gzip'ed
PGS_BATCH = "\n".join([
    json.dumps({"epoch": 8123456789012345, "first": 1201, "last": 1450, "replay": False}),
    json.dumps({"o": 1201, "t": "reading", "b": [{"sensor": "0004A30B001C0530", "metric": "temperature",
                                                  "value": 21.5, "unit": "Cel", "time": 1795384800000,
                                                  "lat": 49.59, "lon": 17.25, "tags": {"kind": "air"}}]}),
    json.dumps({"o": 1202, "t": "charging/session", "at": 1795384800123, "b": {"kwh": 3.2}}),
    json.dumps({"o": 1450, "t": "reading", "b": {"sensor": "b", "metric": "rh", "value": 40,
                                                "time": "2026-11-21T10:00:00+01:00"}}),
]) + "\n"
write("pgstore_batch", "batch", PGS_BATCH)
write("pgstore_batch", "batch_gzip", gzip.compress(PGS_BATCH.encode(), mtime=0))
write("pgstore_batch", "bad_line", '{"epoch": 1, "first": 1, "last": 2}\n{"o": 2, "t": "reading", "b": {"sensor": "x"}}\n')

# regcat_record: what a town's LKOD answers the region with (docs/plugins/regcat.md)
RC_CONTEXT = ("https://ofn.gov.cz/rozhraní-katalogů-otevřených-dat/2021-01-11/kontexty/"
              "rozhraní-katalogů-otevřených-dat.jsonld")
RC_RECORD = {"@context": RC_CONTEXT, "iri": "https://data.dolni-lhota.cz/api/opendata/catalog/datasets/teplota",
             "typ": "Datová sada", "název": {"cs": "Teplota", "en": "Temperature"}, "popis": {"cs": "Čidla."},
             "poskytovatel": "https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00299308",
             "téma": ["http://publications.europa.eu/resource/authority/data-theme/ENVI"],
             "periodicita_aktualizace": "http://publications.europa.eu/resource/authority/frequency/CONT",
             "klíčové_slovo": {"cs": ["teplota"], "en": "temperature"},
             "prvek_rúian": ["https://linked.cuzk.cz/resource/ruian/obec/500496"],
             "distribuce": [{"iri": "https://data.dolni-lhota.cz/api/opendata/catalog/datasets/teplota/distributions/csv",
                             "typ": "Distribuce"}]}
write("regcat_record", "record", json.dumps(RC_RECORD, ensure_ascii=False))
write("regcat_record", "record_typ_list", json.dumps(dict(RC_RECORD, typ=["Datová sada", "Dataset"]),
                                                     ensure_ascii=False))
write("regcat_record", "no_theme", json.dumps({k: v for k, v in RC_RECORD.items() if k != "téma"},
                                              ensure_ascii=False))
write("regcat_record", "katalog", json.dumps({
    "@context": RC_CONTEXT, "iri": "https://data.dolni-lhota.cz/api/opendata/catalog", "typ": "Katalog",
    "název": {"cs": "Otevřená data"}, "popis": {"cs": "Data obce."},
    "poskytovatel": "https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00299308",
    "datová_sada": [RC_RECORD["iri"]]}, ensure_ascii=False))
