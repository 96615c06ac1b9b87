# Sanitizers as an interface target, so one option flips the whole project.
add_library(packsim_sanitizers INTERFACE)
if(PACKSIM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PACKSIM_FUZZ needs clang's libFuzzer: configure with CXX=clang++")
  endif()
  # Coverage for libFuzzer in every library; the fuzz executables add -fsanitize=fuzzer (its main).
  target_compile_options(packsim_sanitizers INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(packsim_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(PACKSIM_SANITIZE)
  target_compile_options(packsim_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(packsim_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
if(PACKSIM_TSAN)
  target_compile_options(packsim_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(packsim_sanitizers INTERFACE -fsanitize=thread)
endif()
