#pragma once
// Qt's queued calls and QtConcurrent hand data from one thread to another through Qt's own locks (futexes),
// which ThreadSanitizer cannot see in Debian's uninstrumented Qt: every object passed that way then looks
// like a race. The sending side builds what it sends, then calls handOffRelease() just before posting it
// (by pointer, so nothing is copied after the release) and the receiving side handOffAcquire() first thing,
// which tells ThreadSanitizer about the ordering Qt guarantees. Both compile to
// nothing in builds without ThreadSanitizer.

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace engram::detail {

// `token`: any address that identifies the hand-off (one per channel, so that unrelated hand-offs do not
// order each other in ThreadSanitizer's eyes and hide a real race).
#if defined(__SANITIZE_THREAD__)
inline void handOffRelease(void* token) { __tsan_release(token); }
inline void handOffAcquire(void* token) { __tsan_acquire(token); }
#else
inline void handOffRelease(void*) {}
inline void handOffAcquire(void*) {}
#endif

}  // namespace engram::detail
