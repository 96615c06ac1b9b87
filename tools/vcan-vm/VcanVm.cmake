# CMake helpers for SocketCAN tests through tools/vcan-vm/run (see docs/testing.md).
#   include(${PROJECT_SOURCE_DIR}/tools/vcan-vm/VcanVm.cmake)
#   packsim_add_vm_test(my.test ${PACKSIM_VCAN_VM_RUN} --bin $<TARGET_FILE:packsim>
#                       --out ${CMAKE_CURRENT_BINARY_DIR}/my.test -- ${CMAKE_CURRENT_SOURCE_DIR}/my_test.sh)
# The test passes when the command exits 0: the harness exits with the script's status.
include_guard(GLOBAL)

set(PACKSIM_VCAN_VM_RUN "${CMAKE_CURRENT_LIST_DIR}/run" CACHE INTERNAL "tools/vcan-vm/run")
set(PACKSIM_VM_TEST_TIMEOUT 900 CACHE STRING
    "CTest TIMEOUT of a vm test (the first one may wait for Debian's kernel download, ~70 MB)")

# packsim_add_vm_test(NAME COMMAND...): a CTest test labelled "vm" (ctest -L vm runs them all).
function(packsim_add_vm_test name)
  add_test(NAME ${name} COMMAND ${ARGN})
  set_tests_properties(${name} PROPERTIES
    LABELS vm
    TIMEOUT ${PACKSIM_VM_TEST_TIMEOUT}
    # In VM mode a test keeps one host core busy (QEMU's TCG): "ctest -j2" runs two at once.
    PROCESSORS 1)
endfunction()
