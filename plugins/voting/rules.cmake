# The voting rules library: pabulib .pb read/write, the counting rules and
# their explanation.  One OBJECT library that the voting plugin, the unit
# tests, the fuzz target, the bench and `mestys verify` all link:
#   include(${CMAKE_SOURCE_DIR}/plugins/voting/rules.cmake)
#   target_link_libraries(X PRIVATE voting_rules)
# Guarded so that several CMakeLists.txt may include it.
# MESTYS_PABULIB_DIR: the shared reference elections (pabulib .pb files and
# expected.md) that the unit tests count and the fuzz seeds come from; read
# in place, never copied into the tree.
set(MESTYS_PABULIB_DIR "${CMAKE_SOURCE_DIR}/../shared/reference/pabulib" CACHE PATH
  "Folder of the reference pabulib instances (tests, bench, fuzz seeds)")
if(NOT TARGET voting_rules)
  add_library(voting_rules OBJECT
    ${CMAKE_CURRENT_LIST_DIR}/pb.c
    ${CMAKE_CURRENT_LIST_DIR}/pb_write.c
    ${CMAKE_CURRENT_LIST_DIR}/election.c
    ${CMAKE_CURRENT_LIST_DIR}/rules.c
    ${CMAKE_CURRENT_LIST_DIR}/tally.c
    ${CMAKE_CURRENT_LIST_DIR}/mes.c
    ${CMAKE_CURRENT_LIST_DIR}/completion.c
    ${CMAKE_CURRENT_LIST_DIR}/explain.c)
  # position independent: the plugin is a shared object
  set_target_properties(voting_rules PROPERTIES POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
  target_include_directories(voting_rules PUBLIC ${CMAKE_SOURCE_DIR}/sdk/include ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(voting_rules PUBLIC PkgConfig::CJSON m)
endif()
