// Slurm memory sizes (--mem). No imports: captured into the provider's serialized closure.

// Integer, optional unit K/M/G/T (Slurm's default is M), optional B after a unit: "256gb", "4096".
const MEMORY = /^(\d+)(?:([KMGT])B?)?$/i;

const MIB_PER_UNIT: Readonly<Record<string, number>> = {
    K: 1 / 1024,
    M: 1,
    G: 1024,
    T: 1024 * 1024,
};

/** Parse an sbatch `--mem` value into MiB (fractional for K); `undefined` when it is not a valid size. */
export function parseSlurmMemory(value: string): number | undefined {
    const m = MEMORY.exec(value);
    if (!m) {
        return undefined;
    }
    const unit = (m[2] ?? "M").toUpperCase();
    return Number(m[1]) * (MIB_PER_UNIT[unit] ?? 1);
}
