// lora_frames.js: builds and reads LoRaWAN frames with the npm package
// lora-packet (an independent implementation) for test_lora.py.
// Reads one JSON request per line on stdin, writes one JSON answer per line.
const lora = require("lora-packet");
const readline = require("readline");

const hex = (s) => Buffer.from(s, "hex");

function data(r) {
  const p = lora.fromFields(
    {
      MType: r.confirmed ? "Confirmed Data Up" : "Unconfirmed Data Up",
      DevAddr: hex(r.dev_addr),
      FCnt: r.fcnt,
      FPort: r.fport === undefined ? 1 : r.fport,
      payload: hex(r.payload),
    },
    hex(r.app_skey),
    hex(r.nwk_skey),
  );
  return { phy: p.getPHYPayload().toString("base64") };
}

function join(r) {
  const p = lora.fromFields(
    { MType: "Join Request", AppEUI: hex(r.join_eui), DevEUI: hex(r.dev_eui), DevNonce: hex(r.dev_nonce) },
    null, null, hex(r.app_key),
  );
  return { phy: p.getPHYPayload().toString("base64") };
}

function accept(r) {
  const wire = lora.fromWire(Buffer.from(r.phy, "base64"));
  const plain = lora.fromWire(lora.decryptJoinAccept(wire, hex(r.app_key)));
  const ok = lora.verifyMIC(plain, null, hex(r.app_key));
  const keys = lora.generateSessionKeys(hex(r.app_key), plain.NetID, plain.AppNonce, hex(r.dev_nonce));
  return {
    mic_ok: ok,
    dev_addr: plain.DevAddr.toString("hex"),
    net_id: plain.NetID.toString("hex"),
    nwk_skey: keys.NwkSKey.toString("hex"),
    app_skey: keys.AppSKey.toString("hex"),
  };
}

function down(r) {
  const p = lora.fromWire(Buffer.from(r.phy, "base64"));
  return {
    mtype: p.getMType(),
    ack: p.getFCtrlACK(),
    dev_addr: p.DevAddr.toString("hex"),
    fcnt: p.getFCnt(),
    mic_ok: lora.verifyMIC(p, hex(r.nwk_skey)),
  };
}

const ops = { data, join, accept, down };
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const r = JSON.parse(line);
  let out;
  try {
    out = ops[r.op](r);
  } catch (e) {
    out = { error: String(e && e.message) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
});
