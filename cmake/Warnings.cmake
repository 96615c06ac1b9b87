# Warnings as an interface target: link it to every target of the project, never to third-party code.
add_library(packsim_warnings INTERFACE)
target_compile_options(packsim_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion -Wformat=2
  -Wimplicit-fallthrough)
if(PACKSIM_WERROR)
  target_compile_options(packsim_warnings INTERFACE -Werror)
endif()
