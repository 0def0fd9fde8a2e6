// ocpp_payloads.js: checks OCPP 1.6 payloads a program prints against the
// OCA JSON schemas with ocpp-rpc's own validator (the one its strict mode
// applies to what a charge point receives), for unit_charging_schemas.
// Usage: node ocpp_payloads.js PROGRAM...  Each PROGRAM is run with
// --payloads and prints "Action<TAB>request payload" lines.
const { execFileSync } = require("child_process");
const { createValidator } = require("ocpp-rpc");
const validator = createValidator("ocpp1.6", require("ocpp-rpc/lib/schemas/ocpp1_6.json"));

let failed = 0;
for (const program of process.argv.slice(2)) {
  const out = execFileSync(program, ["--payloads"], { encoding: "utf8", maxBuffer: 64 << 20 });
  const lines = out.split("\n").filter((l) => l.length > 0);
  if (lines.length === 0) {
    console.error(`${program} printed no payloads`);
    failed++;
    continue;
  }
  const actions = {};
  for (const line of lines) {
    const [action, json] = line.split("\t");
    try {
      validator.validate(`urn:${action}.req`, JSON.parse(json));
      actions[action] = (actions[action] || 0) + 1;
    } catch (e) {
      if (failed++ < 10) console.error(`${program}: ${action} ${json}: ${e.message}`);
    }
  }
  console.log(`${program}: ${JSON.stringify(actions)} valid`);
}
process.exit(failed ? 1 : 0);
