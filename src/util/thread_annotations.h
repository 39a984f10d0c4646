// Clang's thread-safety annotations (-Wthread-safety), as macros that are empty elsewhere.
//
// A member written `T x_ MLV_GUARDED_BY(mu_);` may be touched only with mu_ held; a function
// declared `MLV_REQUIRES(mu_)` is called only with mu_ held, `MLV_EXCLUDES(mu_)` only without.
// The capability is a util::Mutex (util/mutex.h; libstdc++'s std::mutex carries no annotations).
// Clang builds check them with -Wthread-safety -Werror=thread-safety (CMakeLists.txt): the fuzz
// build, and scripts/thread-safety.sh for the files that use them. GCC ignores them.
// https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
#pragma once

#if defined(__clang__)
#define MLV_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define MLV_THREAD_ANNOTATION(x)
#endif

// On a class: its objects are a capability (a mutex) named `x` in diagnostics.
#define MLV_CAPABILITY(x) MLV_THREAD_ANNOTATION(capability(x))
// On a class: an RAII object that holds a capability for its lifetime.
#define MLV_SCOPED_CAPABILITY MLV_THREAD_ANNOTATION(scoped_lockable)
// On a member: read or written only with the given mutex held.
#define MLV_GUARDED_BY(x) MLV_THREAD_ANNOTATION(guarded_by(x))
// On a pointer member: what it points to is guarded by the given mutex.
#define MLV_PT_GUARDED_BY(x) MLV_THREAD_ANNOTATION(pt_guarded_by(x))
// On a function: the caller holds these mutexes (and still holds them on return).
#define MLV_REQUIRES(...) MLV_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// On a function: the caller does not hold these mutexes (the function takes them).
#define MLV_EXCLUDES(...) MLV_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// On a function: it takes / releases these mutexes (none named: `this`, or the scoped object's).
#define MLV_ACQUIRE(...) MLV_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define MLV_RELEASE(...) MLV_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define MLV_TRY_ACQUIRE(...) MLV_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// On a function: returns a reference to the given mutex.
#define MLV_RETURN_CAPABILITY(x) MLV_THREAD_ANNOTATION(lock_returned(x))
// On a function: not checked (say why where it is used).
#define MLV_NO_THREAD_SAFETY_ANALYSIS MLV_THREAD_ANNOTATION(no_thread_safety_analysis)
