/*
 * la_plugin_dl.h - how the filter plug-ins find their vendor library's functions at create().
 *
 * The plug-ins link against no vendor library: the Python side loads it as an AudioFilter
 * dependency (dlopen RTLD_NOW | RTLD_GLOBAL) before the plug-in, so its functions are found
 * process-wide (dlsym(RTLD_DEFAULT, ...), POSIX.1-2008 dlsym plus the RTLD_DEFAULT extension
 * of glibc, musl and macOS). A "library_path" option names a file to load instead
 * (RTLD_NOW | RTLD_LOCAL, so it cannot clash with another copy); an explicit path wins over
 * whatever the process already has. All of a plug-in's functions come from one place, never
 * some from each.
 *
 * Windows (untested): the process-wide lookup asks the named module already loaded
 * (GetModuleHandleA), the path is loaded with LoadLibraryA.
 *
 * Included by the plug-in sources only (static functions; no allocation beyond the loader's).
 */
#ifndef LA_PLUGIN_DL_H
#define LA_PLUGIN_DL_H

#include <stddef.h>
#include <string.h>

#include "la_plugin_options.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#ifndef RTLD_DEFAULT
#error "define _GNU_SOURCE before the first #include (glibc declares RTLD_DEFAULT only then)"
#endif
#endif

/* Any function pointer; cast to the real type before calling. */
typedef void (*la_dl_fn)(void);

_Static_assert(sizeof(void *) == sizeof(la_dl_fn), "data and function pointers differ in size");

static la_dl_fn la_dl_symbol(void *module, const char *name)
{
#if defined(_WIN32)
    FARPROC f = module != NULL ? GetProcAddress((HMODULE)module, name) : NULL;
    la_dl_fn fn;
    memcpy(&fn, &f, sizeof fn);
    return fn;
#else
    /* POSIX guarantees a dlsym() result converts to a function pointer; memcpy says so
     * without the cast ISO C leaves undefined. */
    void *p = dlsym(module, name);
    la_dl_fn fn;
    memcpy(&fn, &p, sizeof fn);
    return fn;
#endif
}

/*
 * Resolves names[0 .. n - 1] into fns. With library_path NULL or "", from the process
 * (win_module: the module name asked on Windows); otherwise from library_path, loaded here,
 * whose handle is stored in *library (close it with la_dl_close) — *library is NULL when
 * nothing was loaded. On failure returns the first missing name's index (or n when
 * library_path could not be loaded) with a message in error, and loads nothing; returns -1
 * (as size_t: (size_t)-1) on success. missing_hint is appended to a missing-symbol message.
 */
static size_t la_dl_resolve(const char *const *names, size_t n, la_dl_fn *fns,
                            const char *library_path, const char *win_module, void **library,
                            const char *missing_hint, char *error, size_t error_size)
{
    void *module;
    *library = NULL;
    if (library_path == NULL || library_path[0] == '\0') {
#if defined(_WIN32)
        module = (void *)GetModuleHandleA(win_module);
#else
        (void)win_module;
        module = RTLD_DEFAULT;
#endif
    } else {
#if defined(_WIN32)
        module = (void *)LoadLibraryA(library_path);
        if (module == NULL) {
            la_plugin_error(error, error_size, "could not load library_path (error %lu): \"%s\"",
                            (unsigned long)GetLastError(), library_path);
            return n;
        }
#else
        module = dlopen(library_path, RTLD_NOW | RTLD_LOCAL);
        if (module == NULL) {
            const char *why = dlerror();
            /* dlerror() names the file */
            la_plugin_error(error, error_size, "could not load library_path: %s",
                            why != NULL ? why : library_path);
            return n;
        }
#endif
    }
    for (size_t i = 0; i < n; i++) {
        fns[i] = la_dl_symbol(module, names[i]);
        if (fns[i] == NULL) {
            if (library_path == NULL || library_path[0] == '\0') {
                la_plugin_error(error, error_size, "function %s not found in the process. %s",
                                names[i], missing_hint);
            } else {
                la_plugin_error(error, error_size, "function %s not found in library_path. %s "
                                "(library_path: \"%s\")",
                                names[i], missing_hint, library_path);
#if defined(_WIN32)
                FreeLibrary((HMODULE)module);
#else
                dlclose(module);
#endif
            }
            return i;
        }
    }
    if (library_path != NULL && library_path[0] != '\0') {
        *library = module;
    }
    return (size_t)-1;
}

static void la_dl_close(void *library)
{
    if (library == NULL) {
        return;
    }
#if defined(_WIN32)
    FreeLibrary((HMODULE)library);
#else
    dlclose(library);
#endif
}

#endif /* LA_PLUGIN_DL_H */
