#pragma once
// Qt's queued calls and QtConcurrent hand data from one thread to another through Qt's own locks (futexes),
// which ThreadSanitizer cannot see in Debian's uninstrumented Qt: every object passed that way then looks
// like a race. The sending side calls handOffRelease() just before posting and the receiving side
// handOffAcquire() first thing, which tells ThreadSanitizer about the ordering Qt guarantees. Both compile to
// nothing in builds without ThreadSanitizer.

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace engram::detail {

#if defined(__SANITIZE_THREAD__)
inline char handOffToken;
inline void handOffRelease() { __tsan_release(&handOffToken); }
inline void handOffAcquire() { __tsan_acquire(&handOffToken); }
#else
inline void handOffRelease() {}
inline void handOffAcquire() {}
#endif

}  // namespace engram::detail
