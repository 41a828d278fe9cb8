# Included into the ASan + UBSan test build by scripts/test-sanitized.sh
# (-DCMAKE_PROJECT_INCLUDE=...). The whole tree is built with the sanitizers (its CMAKE_CXX_FLAGS):
# modrt dlopens its plugins, which must be built like it. Two adjustments:

# GCC's sanitizer instrumentation makes -Wmaybe-uninitialized report variables inside libstdc++
# (std::function in <regex>) that are initialized; the normal build keeps the warning.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-Wno-maybe-uninitialized)
endif()

# Test programs that run as a container's workload stay uninstrumented: they get the container's
# environment, not ASAN_OPTIONS, and under the seccomp profile LeakSanitizer cannot stop the world
# at exit (no ptrace), so they would fail for reasons that are not modrt's. The static ones
# (probes that run inside a busybox rootfs) cannot be linked with ASan at all.
set(MODRT_UNSANITIZED_WORKLOADS cgroup_workload)

function(_modrt_targets_below dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _modrt_targets_below(${sub} below)
    list(APPEND targets ${below})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

function(_modrt_unsanitized_workloads)
  _modrt_targets_below(${CMAKE_SOURCE_DIR} targets)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "EXECUTABLE")
      continue()
    endif()
    get_target_property(link_options ${target} LINK_OPTIONS)
    if(target IN_LIST MODRT_UNSANITIZED_WORKLOADS OR "-static" IN_LIST link_options)
      target_compile_options(${target} PRIVATE -fno-sanitize=all)
      target_link_options(${target} PRIVATE -fno-sanitize=all)
      message(STATUS "sanitized build: ${target} stays uninstrumented (a workload)")
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _modrt_unsanitized_workloads)
