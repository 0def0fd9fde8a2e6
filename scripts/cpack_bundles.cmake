# CPACK_PRE_BUILD_SCRIPTS (CMakeLists.txt): CPack has installed a component
# into its staging folder; every shipped plugin there, NAME/VERSION/, gets its
# manifest.json from `mestys bundle pack` and, when MESTYS_RELEASE_KEYS names
# minisign secret keys (scripts/release.sh), their signatures.  The bytes
# hashed and signed are the bytes packed: nothing installs after this.
file(GLOB plugin_dirs LIST_DIRECTORIES true
  "${CPACK_TEMPORARY_DIRECTORY}/*${CPACK_PACKAGING_INSTALL_PREFIX}/${CPACK_MESTYS_PLUGIN_RELDIR}"
  "${CPACK_TEMPORARY_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}/${CPACK_MESTYS_PLUGIN_RELDIR}")
foreach(dir IN LISTS plugin_dirs)
  if(IS_DIRECTORY "${dir}")
    string(REPLACE ":" ";" keys "$ENV{MESTYS_RELEASE_KEYS}")
    execute_process(COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/sign-bundles.sh" "${CPACK_MESTYS_CLI}" "${dir}"
      "${CPACK_MESTYS_HOST_RANGE}" ${keys}
      RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "sign-bundles.sh failed on ${dir}")
    endif()
  endif()
endforeach()
