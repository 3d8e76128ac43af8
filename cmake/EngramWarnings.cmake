# engram_target_defaults(<target>): the warning set and sanitizer flags every Engram target uses.
option(ENGRAM_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)
set(ENGRAM_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined or thread")

function(engram_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-unused-parameter)
  # Nothing Engram compiles is exported from its executables. Debian's LibTorch loads Qt 5 (through
  # OpenCV's highgui) into every process; an executable that exported its out-of-line copies of Qt 6's
  # inline functions (operator==(QString, QString); in Debug builds QByteArray::append and many more) would
  # have Qt 5's libraries bind to them, and the ASan preset's app crashed that way before main().
  target_compile_options(${target} PRIVATE -fvisibility=hidden -fvisibility-inlines-hidden)
  if(ENGRAM_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(ENGRAM_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${ENGRAM_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${ENGRAM_SANITIZE})
  endif()
endfunction()
