/*
 * Test stand-in for Duo's PAM module (pam_duo), for the second-factor sshd of
 * test/cluster/second-factor/setup.sh. HiPerGator cannot be reached from CI, so
 * this module asks what Duo asks, in Duo's shape, and checks a static answer
 * (Duo's "1" = push is static: the same answer every login).
 *
 * The mode is read at every login from mode_file, so tests switch it without a restart:
 *   totp      PAM_IGNORE: the next line of the stack (pam_google_authenticator, one-time codes) decides.
 *   duo       info lines + "Passcode or option (1-3): "; succeeds iff the answer equals answer_file.
 *   password  "Password: " (echo off); always fails. Used to prove a client never sends the Duo answer there.
 * Every prompt and its outcome is appended to log_file (never the answer itself).
 */
#define PAM_SM_AUTH
#include <security/pam_modules.h>
#include <security/pam_ext.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void first_line(const char *path, char *buf, size_t n) {
    buf[0] = '\0';
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL) return;
    if (fgets(buf, (int)n, f) == NULL) buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
}

static void log_line(const char *path, const char *fmt, ...) {
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f == NULL) return;
    fprintf(f, "%ld ", (long)time(NULL));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)flags;
    const char *mode_file = NULL, *answer_file = NULL, *log_file = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "mode_file=", 10) == 0) mode_file = argv[i] + 10;
        else if (strncmp(argv[i], "answer_file=", 12) == 0) answer_file = argv[i] + 12;
        else if (strncmp(argv[i], "log_file=", 9) == 0) log_file = argv[i] + 9;
    }
    char mode[32], answer[128];
    first_line(mode_file, mode, sizeof mode);
    first_line(answer_file, answer, sizeof answer);
    if (strcmp(mode, "duo") != 0 && strcmp(mode, "password") != 0) {
        return PAM_IGNORE;
    }
    const char *user = "?";
    pam_get_user(pamh, &user, NULL);
    char *resp = NULL;
    int rc;
    /* Logged before asking: a client that hangs up at the prompt leaves only this line. */
    log_line(log_file, "mode=%s prompt user=%s asked", mode, user);
    if (strcmp(mode, "duo") == 0) {
        pam_info(pamh, "Duo two-factor login for %s@ufl.edu\n\nEnter a passcode or select one of the following options:\n\n"
                       " 1. Duo Push to XXX-XXX-1234\n 2. Phone call to XXX-XXX-1234\n 3. SMS passcodes to XXX-XXX-1234\n", user);
        rc = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &resp, "Passcode or option (1-3): ");
    } else {
        rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "Password: ");
    }
    if (rc != PAM_SUCCESS || resp == NULL) {
        log_line(log_file, "mode=%s prompt user=%s result=no-answer", mode, user);
        return PAM_AUTH_ERR;
    }
    int matches = answer[0] != '\0' && strcmp(resp, answer) == 0;
    int empty = resp[0] == '\0';
    memset(resp, 0, strlen(resp));
    free(resp);
    if (strcmp(mode, "password") == 0) {
        log_line(log_file, "mode=password prompt user=%s result=refused answered=%s got-duo-answer=%s", user, empty ? "empty" : "yes", matches ? "yes" : "no");
        return PAM_AUTH_ERR;
    }
    log_line(log_file, "mode=duo prompt user=%s result=%s", user, matches ? "accepted" : "wrong-answer");
    return matches ? PAM_SUCCESS : PAM_AUTH_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)pamh; (void)flags; (void)argc; (void)argv;
    return PAM_SUCCESS;
}
