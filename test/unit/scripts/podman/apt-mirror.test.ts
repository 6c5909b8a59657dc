// scripts/podman/apt-mirror.sh: the Debian mirror base-images.sh debootstraps from is read from
// apt's own sources (one-line and deb822 formats), and a machine without one gets an error that
// names what was read and the fix. Each case writes a temp /etc/apt and runs the real function.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(__dirname, "..", "..", "..", "..");
const scratch = mkdtempSync(join(tmpdir(), "apt-mirror-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let dirs = 0;
/** A fresh apt dir holding `files` (paths relative to it, e.g. "sources.list.d/debian.sources"). */
function aptDir(files: Record<string, string>): string {
    const dir = join(scratch, `apt${dirs++}`);
    mkdirSync(join(dir, "sources.list.d"), { recursive: true });
    for (const [name, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), text);
    }
    return dir;
}

function run(fn: string, codename: string, dir: string, env: Record<string, string> = {}) {
    const script = `. scripts/lib/common.sh; . scripts/podman/apt-mirror.sh; ${fn} "$1" "$2"`;
    // --norc: bash reads ~/.bashrc when its stdin looks like a network connection (vitest's fork).
    const res = spawnSync("bash", ["--norc", "-c", script, "bash", codename, dir], {
        stdio: ["ignore", "pipe", "pipe"],
        cwd: root,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    });
    return { status: res.status, stdout: res.stdout.trim(), stderr: res.stderr };
}

const debianSources = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

const cases: { name: string; files: Record<string, string>; codename?: string; mirror: string | null }[] = [
    { name: "deb822 .sources as Debian 12 images ship it", files: { "sources.list.d/debian.sources": debianSources }, mirror: "http://deb.debian.org/debian" },
    {
        name: "one-line sources.list",
        files: { "sources.list": "deb http://ftp.us.debian.org/debian bookworm main contrib\n" },
        mirror: "http://ftp.us.debian.org/debian",
    },
    {
        name: "one-line entry with [options] (spaces inside the brackets)",
        files: { "sources.list": "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://mirror.example/debian bookworm main\n" },
        mirror: "https://mirror.example/debian",
    },
    {
        name: "comments, deb-src and a trailing comment are skipped",
        files: {
            "sources.list":
                "# deb http://commented.example/debian bookworm main\ndeb-src http://src.example/debian bookworm main\ndeb http://ok.example/debian bookworm main # the mirror\n",
        },
        mirror: "http://ok.example/debian",
    },
    {
        name: "only the other suites of the release: none",
        files: {
            "sources.list": "deb http://deb.debian.org/debian bookworm-updates main\ndeb http://security.debian.org/debian-security bookworm-security main\n",
        },
        mirror: null,
    },
    {
        name: "a third-party repository with the codename as suite but not component main (Docker's) is not the archive",
        files: {
            "sources.list.d/a-docker.list": "deb [arch=amd64] https://download.docker.com/linux/debian bookworm stable\n",
            "sources.list.d/debian.sources": debianSources,
        },
        mirror: "http://deb.debian.org/debian",
    },
    {
        name: "sources.list comes before sources.list.d",
        files: { "sources.list": "deb http://first.example/debian bookworm main\n", "sources.list.d/debian.sources": debianSources },
        mirror: "http://first.example/debian",
    },
    {
        name: "sources.list.d is read in name order across both formats",
        files: {
            "sources.list.d/b.list": "deb http://b.example/debian bookworm main\n",
            "sources.list.d/a.sources": "Types: deb\nURIs: http://a.example/debian\nSuites: bookworm\nComponents: main\n",
        },
        mirror: "http://a.example/debian",
    },
    {
        name: "a disabled stanza is skipped (Enabled: no); field names are case-insensitive",
        files: {
            "sources.list.d/debian.sources":
                "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\ntypes: deb\nuris: http://on.example/debian\nsuites: bookworm\ncomponents: main contrib\n",
        },
        mirror: "http://on.example/debian",
    },
    {
        name: "deb822 with several URIs takes the first debootstrap can fetch from",
        files: {
            "sources.list.d/debian.sources":
                "Types: deb deb-src\nURIs: mirror+file:/etc/apt/mirrors.txt http://second.example/debian\nSuites: bookworm\nComponents: main\n",
        },
        mirror: "http://second.example/debian",
    },
    {
        name: "a deb-src-only stanza is not a binary archive",
        files: { "sources.list.d/debian.sources": "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n" },
        mirror: null,
    },
    {
        name: "files apt does not read (.disabled, .save) are ignored",
        files: {
            "sources.list.d/debian.sources.disabled-by-farm": debianSources,
            "sources.list.d/old.list.save": "deb http://old.example/debian bookworm main\n",
        },
        mirror: null,
    },
    { name: "another release's codename", files: { "sources.list.d/debian.sources": debianSources }, codename: "trixie", mirror: null },
    { name: "no sources at all", files: {}, mirror: null },
];

describe("debian_mirror (scripts/podman/apt-mirror.sh)", () => {
    for (const c of cases) {
        it(c.name, () => {
            const res = run("debian_mirror", c.codename ?? "bookworm", aptDir(c.files));
            expect(res.stderr).toBe("");
            expect({ status: res.status, mirror: res.stdout }).toEqual(c.mirror === null ? { status: 1, mirror: "" } : { status: 0, mirror: c.mirror });
        });
    }
});

describe("mirror_for_debootstrap (what base-images.sh calls)", () => {
    it("uses SPARC_MIRROR when set, without reading apt's sources", () => {
        const res = run("mirror_for_debootstrap", "bookworm", aptDir({}), { SPARC_MIRROR: "http://site.example/debian" });
        expect({ status: res.status, mirror: res.stdout }).toEqual({ status: 0, mirror: "http://site.example/debian" });
    });

    it("uses apt's mirror otherwise", () => {
        const res = run("mirror_for_debootstrap", "bookworm", aptDir({ "sources.list.d/debian.sources": debianSources }));
        expect({ status: res.status, mirror: res.stdout }).toEqual({ status: 0, mirror: "http://deb.debian.org/debian" });
    });

    it("fails without one, naming the files it read, what it looked for and the fix", () => {
        const dir = aptDir({ "sources.list": "deb http://deb.debian.org/debian bookworm-updates main\n", "sources.list.d/debian.sources": debianSources });
        const res = run("mirror_for_debootstrap", "trixie", dir);
        expect(res.status).toBe(1);
        expect(res.stdout).toBe("");
        expect(res.stderr).toContain(`ERROR: no Debian mirror for trixie in apt's sources: none has a "deb" entry with suite trixie and component main`);
        expect(res.stderr).toContain(`(read: ${dir}/sources.list, ${dir}/sources.list.d/debian.sources)`);
        expect(res.stderr).toContain("Fix: set SPARC_MIRROR to a Debian mirror, e.g. SPARC_MIRROR=http://deb.debian.org/debian bash scripts/podman/setup.sh");
    });

    it("says so when there are no source files at all", () => {
        const dir = aptDir({});
        const res = run("mirror_for_debootstrap", "bookworm", dir);
        expect(res.status).toBe(1);
        expect(res.stderr).toContain(`(read: no ${dir}/sources.list, no ${dir}/sources.list.d/*.list or *.sources)`);
    });
});
