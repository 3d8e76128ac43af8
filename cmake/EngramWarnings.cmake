# engram_target_defaults(<target>): the warning set and sanitizer flags every Engram target uses.
option(ENGRAM_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)
set(ENGRAM_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined or thread")

function(engram_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-unused-parameter)
  if(ENGRAM_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(ENGRAM_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${ENGRAM_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${ENGRAM_SANITIZE})
  endif()
endfunction()
