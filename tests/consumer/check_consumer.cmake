# ctest packaging.find_package: installs the build tree into a scratch prefix,
# then configures, builds and runs tests/consumer against it, as another CMake
# project would use dkd.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=...
#         -DPREFIX_PATH=... -P check_consumer.cmake
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_consumer.cmake: -D${var}=... is missing")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_consumer.cmake: ${what} failed (${rc}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
run("install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")
# The consumer finds dkd in the install tree, and LibTorch (or anything else dkd
# was built against outside the system paths) where dkd's build found it. Passed
# in the environment (':'-separated), which keeps the list one argument.
set(search "${prefix}")
foreach(dir IN LISTS PREFIX_PATH)
  string(APPEND search ":${dir}")
endforeach()
set(ENV{CMAKE_PREFIX_PATH} "${search}")
set(configure "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release)
if(CXX_COMPILER)
  list(APPEND configure "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
run("configure" ${configure})
run("build" "${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
run("run" "${WORK_DIR}/build/dkd_consumer")
file(REMOVE_RECURSE "${WORK_DIR}")
