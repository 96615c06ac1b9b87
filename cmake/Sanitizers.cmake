# Sanitizers as an interface target, so one option flips the whole project.
add_library(packsim_sanitizers INTERFACE)
if(PACKSIM_SANITIZE)
  target_compile_options(packsim_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(packsim_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
if(PACKSIM_TSAN)
  target_compile_options(packsim_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(packsim_sanitizers INTERFACE -fsanitize=thread)
endif()
