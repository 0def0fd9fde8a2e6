# cmake -DIN=ocpp1_6.json -DOUT=file.c -P embed.cmake: the file's bytes as a C array (NUL-terminated, the
# length without the NUL), so the schemas are in the plugin and nothing is read from disk at run time.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 bytes a line (CMake's regular expressions have no {n})
string(REPEAT "0x..," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
get_filename_component(name ${IN} NAME)
file(WRITE ${OUT}.tmp "/* generated from ${name} by plugins/charging/schemas/embed.cmake: do not edit */
#include <stddef.h>

const char chg_ocpp1_6_json[] = {\n    ${bytes}0x00\n};
const size_t chg_ocpp1_6_json_len = ${len};
")
# rewritten only when different, so an unchanged schema does not rebuild what uses it
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
file(REMOVE ${OUT}.tmp)
