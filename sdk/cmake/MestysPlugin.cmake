# mestys_add_plugin(<name> <sources>...)
# Builds <name>.so, a plugin mestysd can load: no "lib" prefix, symbols
# hidden except the exported `mestys_plugin`, linked against nothing of the
# daemon (the host table brings every service).
function(mestys_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE mestys::mestys_sdk)
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
endfunction()
