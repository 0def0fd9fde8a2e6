# vendor.cmake - installs the pinned browser libraries (package-lock.json)
# in a copy of this folder inside the build tree and copies the files the
# pages load into www/web/vendor/.  Run by the web_vendor target:
#   cmake -DNPM=… -DSRC=<plugins/web> -DWORK=<build>/npm/web -DOUT=<build>/www/web/vendor -P vendor.cmake
foreach(v NPM SRC WORK OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "vendor.cmake needs -D${v}=")
  endif()
endforeach()

file(MAKE_DIRECTORY ${WORK})
file(COPY ${SRC}/package.json ${SRC}/package-lock.json DESTINATION ${WORK})
# --ignore-scripts: nothing from the registry runs on the build machine
execute_process(COMMAND ${NPM} ci --ignore-scripts --no-audit --no-fund --loglevel=error
  WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm ci in ${WORK} failed (${rc}): the pages need leaflet and uplot from the npm registry "
    "(or from npm's cache); check the network, or build with -DMESTYS_PLUGIN_WEB=OFF")
endif()

set(nm ${WORK}/node_modules)
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT}/leaflet ${OUT}/uplot)
file(COPY ${nm}/leaflet/dist/leaflet.css ${nm}/leaflet/dist/leaflet-src.esm.js ${nm}/leaflet/dist/images
  DESTINATION ${OUT}/leaflet)
file(COPY ${nm}/uplot/dist/uPlot.min.css ${nm}/uplot/dist/uPlot.esm.js DESTINATION ${OUT}/uplot)
# each library's licence travels with it
file(COPY_FILE ${nm}/leaflet/LICENSE ${OUT}/leaflet/LICENSE.txt)
file(COPY_FILE ${nm}/uplot/LICENSE ${OUT}/uplot/LICENSE.txt)
