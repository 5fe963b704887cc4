# cmake/emu.cmake — the emulated CUDA backend (CTCD_CUDA_EMU=ON): cuda/*.cu compiled as
# C++17 against hip-cpu and our compat headers in cuda/emu/, so the real kernel code runs on
# the CPU (each block on a TBB worker thread, each GPU thread a fiber). hip-cpu is used from
# outside the project (HIP_CPU_ROOT) and never copied into it; the build directory gets a
# patched copy in which every thread of a block runs to completion
# (cuda/emu/hip-cpu-complete-blocks.patch).
enable_language(CXX)
set(HIP_CPU_ROOT "${CMAKE_SOURCE_DIR}/../shared/third_party/hip-cpu" CACHE PATH
    "hip-cpu checkout (github.com/ROCm/HIP-CPU) used by CTCD_CUDA_EMU")
get_filename_component(_hip_root "${HIP_CPU_ROOT}" ABSOLUTE)
if(NOT EXISTS "${_hip_root}/include/hip/hip_runtime.h")
  message(FATAL_ERROR
    "CTCD_CUDA_EMU needs hip-cpu, a header-only HIP runtime for CPUs, and it is not at "
    "HIP_CPU_ROOT=${_hip_root}. Get it from https://github.com/ROCm/HIP-CPU at commit "
    "e112c935057434897bb12d9ab3910380a8bd5f58 (git clone, then git checkout that commit) and "
    "pass -DHIP_CPU_ROOT=<its folder>; it needs C++17 and TBB (Debian: libtbb-dev).")
endif()
find_package(TBB REQUIRED)
find_package(Threads REQUIRED)
find_program(CTCD_PATCH patch REQUIRED)

# A fresh patched copy whenever hip-cpu or the patch changes.
set(_hip_copy "${CMAKE_BINARY_DIR}/hip-cpu")
set(_hip_patch "${CMAKE_SOURCE_DIR}/cuda/emu/hip-cpu-complete-blocks.patch")
file(SHA256 "${_hip_patch}" _patch_hash)
file(SHA256 "${_hip_root}/src/include/hip/detail/tile.hpp" _tile_hash)
set(_stamp "${_hip_root}|${_patch_hash}|${_tile_hash}")
set(_stamp_file "${_hip_copy}/.ctcd-patched")
set(_have "")
if(EXISTS "${_stamp_file}")
  file(READ "${_stamp_file}" _have)
endif()
if(NOT _have STREQUAL _stamp)
  file(REMOVE_RECURSE "${_hip_copy}")
  file(MAKE_DIRECTORY "${_hip_copy}")
  file(COPY "${_hip_root}/include" "${_hip_root}/src" "${_hip_root}/external"
       DESTINATION "${_hip_copy}")
  execute_process(COMMAND "${CTCD_PATCH}" -p1 --forward --batch -i "${_hip_patch}"
                  WORKING_DIRECTORY "${_hip_copy}" RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _out)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "cannot apply ${_hip_patch} to the copy of ${_hip_root} in "
                        "${_hip_copy} (is it commit e112c935057434897bb12d9ab3910380a8bd5f58?):\n${_out}")
  endif()
  file(WRITE "${_stamp_file}" "${_stamp}")
endif()
message(STATUS "ctcd: CUDA emulation on: cuda/*.cu run on the CPU through hip-cpu "
               "(${_hip_root}, patched copy in ${_hip_copy})")

# The real backend's sources, less the cuBLASLt loader (cuda/emu/cublasLt.h stands in for
# the library, cuda/emu/emu_lt.cu for the loader), and the emulation's self-test kernels
# (tests/test_emu_runtime.c).
file(GLOB CTCD_EMU_SOURCES CONFIGURE_DEPENDS cuda/*.cu cuda/emu/*.cu src/parallel/*.cu)
list(REMOVE_ITEM CTCD_EMU_SOURCES "${CMAKE_SOURCE_DIR}/cuda/lt_loader.cu")
set_source_files_properties(${CTCD_EMU_SOURCES} PROPERTIES LANGUAGE CXX)
add_library(ctcd_cuda STATIC ${CTCD_EMU_SOURCES})
set_target_properties(ctcd_cuda PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON
                                           CXX_EXTENSIONS OFF LINKER_LANGUAGE CXX)
# -x c++: the files end in .cu. -ffp-contract=off: no FMA contraction the GPU code does not
# ask for. -O2 keeps the fibers' kernels fast enough for CI.
target_compile_options(ctcd_cuda PRIVATE -x c++ -O2 -ffp-contract=off -Wall -Wextra
                                         -Wno-unused-parameter -Wno-unknown-pragmas ${CTCD_SAN_FLAGS})
target_compile_definitions(ctcd_cuda PUBLIC CTCD_CUDA_EMU=1)
target_include_directories(ctcd_cuda PUBLIC include PRIVATE src cuda cuda/emu)
target_include_directories(ctcd_cuda SYSTEM PRIVATE "${_hip_copy}/include")
target_link_libraries(ctcd_cuda PUBLIC TBB::tbb Threads::Threads ${CMAKE_DL_LIBS})
target_compile_definitions(ctcd PUBLIC CTCD_HAVE_CUDA=1)
target_link_libraries(ctcd PUBLIC ctcd_cuda)

