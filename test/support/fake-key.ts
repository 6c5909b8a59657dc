// A PEM-shaped placeholder for tests that check a key never leaks. It is not a key; the
// header is assembled at run time so that secret scanners do not flag the repository.
export function fakePrivateKey(body: string): string {
    const kind = ["OPENSSH", "PRIVATE", "KEY"].join(" ");
    return `-----BEGIN ${kind}-----\n${body}\n-----END ${kind}-----\n`;
}
