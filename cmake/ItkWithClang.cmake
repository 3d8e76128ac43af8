# Debian's ITK 5.2 headers were configured with GCC: itk_compiler_detection.h stops with "Unsupported
# compiler" under clang (needed for libFuzzer, preset fuzz). This writes, in the build folder, a copy of that
# header whose compiler test also takes clang, with a feature list for clang (every C++ feature macro ITK's
# GCC table defines, set to 1: clang 14 has them all in C++17), and includes it first in every file compiled
# from here on (-include), so that its include guard makes the installed one a no-op (ITK includes it by a
# quoted name, which an include path cannot override). Nothing of ITK is kept in the repository; the copy is
# made from the installed header at configure time.
function(engram_itk_headers_for_clang)
  find_file(_itk_detection itk_compiler_detection.h PATHS ${ITK_INCLUDE_DIRS} NO_DEFAULT_PATH)
  find_file(_itk_gnu_info compilers/ITK_COMPILER_INFO_GNU_CXX.h PATHS ${ITK_INCLUDE_DIRS} NO_DEFAULT_PATH)
  if(NOT _itk_detection OR NOT _itk_gnu_info)
    message(FATAL_ERROR "ITK's itk_compiler_detection.h not found in ${ITK_INCLUDE_DIRS}")
  endif()
  set(dir ${CMAKE_BINARY_DIR}/itk-for-clang)
  file(READ ${_itk_gnu_info} gnu)
  string(REGEX MATCHALL "define ITK_COMPILER_CXX_[A-Z0-9_]+ 1" defines "${gnu}")
  list(REMOVE_DUPLICATES defines)
  set(features "// Written by cmake/ItkWithClang.cmake from ${_itk_gnu_info}\n")
  foreach(d ${defines})
    string(APPEND features "#  ${d}\n")
  endforeach()
  string(APPEND features "#  define ITK_COMPILER_VERSION_MAJOR (__clang_major__)\n")
  file(WRITE ${dir}/itk_clang_features.h "${features}")
  file(READ ${_itk_detection} detection)
  string(REPLACE "#  if ITK_COMPILER_IS_GNU\n" "#  if ITK_COMPILER_IS_Clang\n#    include \"itk_clang_features.h\"\n#  elif ITK_COMPILER_IS_GNU\n"
         detection "${detection}")
  file(WRITE ${dir}/itk_compiler_detection.h "${detection}")
  add_compile_options(-include ${dir}/itk_compiler_detection.h)
endfunction()
