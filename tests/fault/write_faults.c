/* Fault injection for check_write_faults.sh, loaded with LD_PRELOAD into engram or engram-cli:
 *   ENGRAM_KILL_AT_RENAME=<name>  the process is killed (SIGKILL) when it renames a file onto a path whose
 *                                 last component is <name> (or starts with it, when it ends in '*'): the
 *                                 moment between writing and renaming.
 *   ENGRAM_FAIL_FSYNC=<text>      fsync fails with EIO on a file whose path contains <text>.
 * Everything else is passed to the C library unchanged. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int endsWithName(const char* path, const char* name) {
    const char* slash = strrchr(path, '/');
    const char* last = slash ? slash + 1 : path;
    const size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '*') return strncmp(last, name, n - 1) == 0;
    return strcmp(last, name) == 0;
}

static void killIfTarget(const char* newpath) {
    const char* name = getenv("ENGRAM_KILL_AT_RENAME");
    if (name && *name && newpath && endsWithName(newpath, name)) kill(getpid(), SIGKILL);
}

int rename(const char* oldpath, const char* newpath) {
    killIfTarget(newpath);
    int (*real)(const char*, const char*) = (int (*)(const char*, const char*))dlsym(RTLD_NEXT, "rename");
    return real(oldpath, newpath);
}

int renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath) {
    killIfTarget(newpath);
    int (*real)(int, const char*, int, const char*) =
        (int (*)(int, const char*, int, const char*))dlsym(RTLD_NEXT, "renameat");
    return real(olddirfd, oldpath, newdirfd, newpath);
}

int renameat2(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, unsigned int flags) {
    killIfTarget(newpath);
    int (*real)(int, const char*, int, const char*, unsigned int) =
        (int (*)(int, const char*, int, const char*, unsigned int))dlsym(RTLD_NEXT, "renameat2");
    return real(olddirfd, oldpath, newdirfd, newpath, flags);
}

int fsync(int fd) {
    const char* text = getenv("ENGRAM_FAIL_FSYNC");
    if (text && *text) {
        char link[64], path[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        const ssize_t n = readlink(link, path, sizeof path - 1);
        if (n > 0) {
            path[n] = '\0';
            if (strstr(path, text)) {
                errno = EIO;
                return -1;
            }
        }
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}
