# The charging plugin's OCPP-J sources, for every target that frames or validates OCPP messages (the
# plugin, tests/unit/test_ocpp_rpc, tests/fuzz/charging_rpc, the benchmark): include this file, then
#     chg_ocpp_sources(VAR)
# sets VAR to rpc.c, json_strict.c, ocpp_schema.c, ocpp_format.c and a generated C file holding the bytes of
# ocpp1_6.json (chg_ocpp1_6_json / chg_ocpp1_6_json_len, declared in ocpp_schema.h), regenerated
# whenever ocpp1_6.json changes.  They need cJSON and libm (PkgConfig::CJSON, m).
set(CHG_OCPP_DIR ${CMAKE_CURRENT_LIST_DIR})

function(chg_ocpp_sources out)
  set(json ${CHG_OCPP_DIR}/ocpp1_6.json)
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/chg_ocpp1_6_json.c)
  # one rule per directory: a second target in the same directory reuses the same file
  get_property(done DIRECTORY PROPERTY CHG_OCPP_GENERATED)
  if(NOT done)
    add_custom_command(OUTPUT ${gen}
      COMMAND ${CMAKE_COMMAND} -DIN=${json} -DOUT=${gen} -P ${CHG_OCPP_DIR}/embed.cmake
      DEPENDS ${json} ${CHG_OCPP_DIR}/embed.cmake
      COMMENT "Embedding the OCPP 1.6 JSON schemas")
    set_property(DIRECTORY PROPERTY CHG_OCPP_GENERATED 1)
  endif()
  get_filename_component(src ${CHG_OCPP_DIR}/.. ABSOLUTE)
  set(${out} ${src}/rpc.c ${src}/json_strict.c ${src}/ocpp_schema.c ${src}/ocpp_format.c ${gen} PARENT_SCOPE)
endfunction()
