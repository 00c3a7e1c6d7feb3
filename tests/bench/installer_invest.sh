#!/usr/bin/env bash
# Construit InVEST 3.20.2 (natcap.invest) dans un environnement Python séparé, pour le banc
# tests/bench/test_bench_chaleur.py (comparaison au modèle de chaleur de Désimper, même grille).
#
#   bash tests/bench/installer_invest.sh            # → /tmp/venv_invest
#   DESIMPER_VENV_INVEST=/ailleurs bash tests/bench/installer_invest.sh
#
# Le banc trouve cet interpréteur par $DESIMPER_PYTHON_INVEST (défaut /tmp/venv_invest/bin/python).
# Les liaisons Python de GDAL se compilent contre la bibliothèque du système (paquet Debian libgdal-dev) :
# on demande donc gdal==$(gdal-config --version). Durée : 5 à 15 minutes (compilations de GDAL, pygeoprocessing
# et natcap.invest).
set -euo pipefail
VENV="${DESIMPER_VENV_INVEST:-/tmp/venv_invest}"
PYTHON="${PYTHON:-python3}"
VERSION_INVEST="3.20.2"

if ! command -v gdal-config >/dev/null 2>&1; then
    echo "==> Paquets Debian de GDAL (libgdal-dev)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q libgdal-dev g++
fi
VERSION_GDAL="$(gdal-config --version)"

echo "==> Environnement $VENV (InVEST $VERSION_INVEST, GDAL $VERSION_GDAL)"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip wheel setuptools
# numpy d'abord : les liaisons GDAL compilent leur module tableau contre le numpy installé
"$VENV/bin/python" -m pip install -q "numpy<2.3"
CPLUS_INCLUDE_PATH=/usr/include/gdal C_INCLUDE_PATH=/usr/include/gdal \
    "$VENV/bin/python" -m pip install -q --no-build-isolation "gdal[numpy]==$VERSION_GDAL"
# natcap.invest et pygeoprocessing se compilent (Cython) : un Cython récent refuse le code de
# pygeoprocessing (« Cannot assign type 'double' to 'int' ») ; on fixe donc Cython < 3.1 et on compile sans
# isolation, avec les outils installés ici.
# babel : natcap.invest compile ses traductions (pybabel) à la construction.
export PATH="$VENV/bin:$PATH"
"$VENV/bin/python" -m pip install -q "cython<3.1" setuptools_scm babel
"$VENV/bin/python" -m pip install -q --no-build-isolation "pygeoprocessing==2.4.11"
"$VENV/bin/python" -m pip install -q --no-build-isolation "natcap.invest==$VERSION_INVEST"
"$VENV/bin/python" -c "import natcap.invest, osgeo.gdal_array; print('InVEST', natcap.invest.__version__, 'prêt')"
