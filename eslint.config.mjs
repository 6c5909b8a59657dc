import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

/** The package's modules are reached through its public entry only. */
const publicEntryOnly = {
    group: ["**/providers/*", "@sparc-deploy/slurm-provider/*"],
    message: "Import from the package's public entry (../providers), not its modules; export what is missing there.",
};
/** The deployment targets under components/. */
const targets = ["dev", "hpg", "pubapps"];

export default tseslint.config(
    // test/e2e/programs/slurm-legacy/: a frozen copy of an old provider (see .gitattributes), never edited.
    {
        ignores: [
            "node_modules/",
            "dist/",
            "providers/dist/",
            "providers/example/",
            "providers/docs/",
            "samples/",
            "test/.artifacts/",
            "test/e2e/programs/slurm-legacy/",
            "test/e2e/programs/pubapps-legacy/",
        ],
    },
    // ESLint's own recommended rules for the plain JavaScript only: on .ts files typescript-eslint's
    // set below already turns off the ones the compiler covers better.
    { files: ["**/*.js", "**/*.mjs"], ...js.configs.recommended },
    ...tseslint.configs.recommended,
    {
        files: ["**/*.js", "**/*.mjs"],
        rules: {
            // tsconfig.scripts.json type-checks these files (checkJs), which finds undefined names
            // with Node's real globals; ESLint's no-undef would need them listed again.
            "no-undef": "off",
        },
    },
    {
        files: ["**/*.js"],
        // The scripts are CommonJS run by plain node (`node script.js`), so require() is how they import.
        languageOptions: { sourceType: "commonjs" },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // The SPARC program uses @sparc-deploy/slurm-provider only through its public entry (providers/index.ts),
        // as any other program would: what it needs is public API, documented in providers/docs.
        files: ["index.ts", "components/**/*.ts"],
        rules: { "no-restricted-imports": ["error", { patterns: [publicEntryOnly] }] },
    },
    // No target imports another: what two targets share lives in components/ beside images.ts (pod.ts, archive.ts, ...).
    ...targets.map((target) => ({
        files: [`components/${target}/**/*.ts`],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        publicEntryOnly,
                        {
                            group: targets.filter((t) => t !== target).flatMap((t) => [`../${t}`, `../${t}/*`]),
                            message: "A target does not import another target: move what both use to components/ (beside images.ts).",
                        },
                    ],
                },
            ],
        },
    })),
    {
        // The neutral SSH layer knows nothing of Slurm: providers/slurm builds on it, never the reverse.
        files: ["providers/remote/**/*.ts"],
        rules: {
            "no-restricted-imports": [
                "error",
                { patterns: [{ group: ["../slurm", "../slurm/*"], message: "providers/remote imports nothing from providers/slurm." }] },
            ],
        },
    },
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // Dynamic-provider methods must require() their runtime libraries (the
            // provider is serialized into state); see providers/slurm/provider.ts.
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true }],
        },
    },
);
