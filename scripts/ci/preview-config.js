// @ts-check
// The stack config of a pull-request preview on a clean GitHub runner (.github/workflows/preview.yml).
// `node scripts/ci/preview-config.js <stack>` selects the stack in the backend the CLI is logged in to
// (creating it when the backend has none yet: a fork's first run), points dockerHost at the runner's
// Docker, and sets the keys given in the repository variable SPARC_CONFIG_<STACK> (the workflow passes
// it in the environment). Those are the values every deployment must set (hpg: hpgUser, hpgGroup,
// hpgHostKey; pubapps: pubappsInstance, ...): not secrets, but different for each team and fork, so they
// are neither committed in Pulumi.<stack>.yaml nor kept as secrets. Secrets (the second-factor answers)
// are never needed: a preview does not log in.
// Exit 1 with a message that names what to set; every pulumi call is an argv (no shell).
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const yaml = require("js-yaml");

/** The runner's Docker daemon (ubuntu-latest runs one there): the docker provider connects to it at preview. */
const RUNNER_DOCKER_HOST = "unix:///var/run/docker.sock";

/**
 * A GitHub annotation (shown on the run's summary) and the same line on stderr for any other reader.
 * @param {"error" | "warning"} level
 * @param {string} message
 */
function annotate(level, message) {
    console.error(`::${level}::${message.replace(/\n/g, "%0A")}`);
}

/**
 * @param {string[]} args
 * @returns {string}
 */
function pulumi(args) {
    return execFileSync("pulumi", args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

/**
 * The variable's keys: YAML, one `key: value` per line (a block scalar `|` for several host keys).
 * @param {string} name
 * @param {string} text
 * @returns {[string, string][]}
 */
function parseVariable(name, text) {
    let parsed;
    try {
        parsed = yaml.load(text);
    } catch (err) {
        throw new Error(
            `repository variable ${name} is not YAML (${err instanceof Error ? err.message.split("\n")[0] : String(err)}). Fix: one \`key: value\` per line`,
        );
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new Error(
            `repository variable ${name} must be \`key: value\` lines, e.g. "hpgUser: albert". Fix: set it so under Settings > Secrets and variables > Actions > Variables`,
        );
    }
    return Object.entries(parsed).map(([key, value]) => {
        if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) {
            throw new Error(`repository variable ${name}: "${key}" is not a config key of this project (write it without the "sparc-deploy:" prefix)`);
        }
        if (value !== null && typeof value === "object") {
            throw new Error(
                `repository variable ${name}: ${key} is a list or a map; only plain values can be set here. Fix: commit it in Pulumi.<stack>.yaml if it is the same for everyone`,
            );
        }
        return [key, String(value ?? "")];
    });
}

function main() {
    const stack = process.argv[2] ?? "";
    if (!/^[a-z][a-z0-9-]*$/.test(stack)) {
        throw new Error(`usage: node scripts/ci/preview-config.js <stack> (got "${stack}")`);
    }
    const dockerSocket = RUNNER_DOCKER_HOST.slice("unix://".length);
    if (!fs.existsSync(dockerSocket)) {
        throw new Error(
            `no Docker-API socket at ${dockerSocket}: the preview's docker provider connects to dockerHost (${RUNNER_DOCKER_HOST}). ` +
                "Fix: run the job on a runner with Docker (ubuntu-latest has it)",
        );
    }
    if (stack !== "dev" && !process.env.PULUMI_ACCESS_TOKEN && !process.env.PULUMI_BACKEND_URL) {
        throw new Error(
            `the ${stack} preview needs the team's backend, where the deployed stack's state is. Fix: set the repository secret ` +
                "PULUMI_ACCESS_TOKEN (Pulumi Cloud), or PULUMI_BACKEND_URL (s3://, azblob://, gs://; plus that backend's credentials) " +
                "and PULUMI_CONFIG_PASSPHRASE",
        );
    }
    pulumi(["stack", "select", "--create", stack, "--non-interactive"]);
    pulumi(["config", "set", "--stack", stack, "--", "dockerHost", RUNNER_DOCKER_HOST]);

    const variable = `SPARC_CONFIG_${stack.toUpperCase().replace(/-/g, "_")}`;
    const text = process.env[variable] ?? "";
    if (text.trim() === "") {
        if (stack !== "dev") {
            // Not fatal here: the preview below then names every key that is missing and what it holds.
            annotate(
                "error",
                `repository variable ${variable} is not set: the ${stack} preview has only Pulumi.${stack}.yaml's values. ` +
                    `Fix: set ${variable} (Settings > Secrets and variables > Actions > Variables) to the keys the preview names, one \`key: value\` per line`,
            );
        }
        return;
    }
    const entries = parseVariable(variable, text);
    for (const [key, value] of entries) {
        // "--": a value that starts with "-" is a value, not a flag.
        pulumi(["config", "set", "--stack", stack, "--", key, value]);
    }
    console.log(`${stack}: set ${entries.map(([key]) => key).join(", ")} from ${variable}, and dockerHost`);
}

try {
    main();
} catch (err) {
    annotate("error", err instanceof Error ? err.message : String(err));
    process.exit(1);
}
