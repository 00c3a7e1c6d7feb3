"""Ordre des couches, vérifié par l'arbre syntaxique (ast) de chaque module du projet.

app.py / cli.py → pages → services → vues → indicateurs → donnees : un module n'importe que sa couche ou
les couches plus basses. donnees/, indicateurs/ et services/ n'importent ni streamlit ni les bibliothèques
de rendu ; vues/ n'importe pas streamlit ; indicateurs/ n'ouvre ni le magasin ni un fichier du territoire.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

RACINE_PROJET = Path(__file__).resolve().parents[1]

# Rang de chaque couche : un import vers un rang plus petit (une couche plus haute) est interdit.
COUCHES = {"app": 0, "cli": 0, "pages": 1, "services": 2, "vues": 3, "indicateurs": 4, "donnees": 5}
INTERFACE = ("streamlit", "streamlit_folium")
RENDU = ("folium", "plotly")
MODULES_INTERDITS = {
    "donnees": INTERFACE + RENDU,
    "indicateurs": INTERFACE + RENDU + ("donnees.magasin", "donnees.droits", "donnees.referentiel",
                                        "donnees.import_*", "pyogrio"),
    "services": INTERFACE + RENDU,
    "vues": INTERFACE,
}
# Lecteurs de fichiers appelés comme attributs d'un module (geopandas.read_file, rasterio.open).
APPELS_INTERDITS = {"indicateurs": ("geopandas.read_file", "rasterio.open", "pyogrio.read_dataframe")}

# Violations connues, en cours de déplacement (issue 10 : lecteurs et magasin sortis d'indicateurs/).
# (fichier relatif, module ou appel interdit) ; à vider quand les modules auront été déplacés.
EXCEPTIONS_TEMPORAIRES: set[tuple[str, str]] = set()


def lister_modules(racine: Path) -> list[Path]:
    """Les fichiers Python des couches du projet (faces app.py et cli.py comprises)."""
    fichiers = [racine / nom for nom in ("app.py", "cli.py") if (racine / nom).exists()]
    for paquet in COUCHES:
        if (racine / paquet).is_dir():
            fichiers += sorted((racine / paquet).rglob("*.py"))
    return fichiers


def lire_couche(nom_module: str) -> str | None:
    """La couche d'un module importé (« donnees.magasin » → « donnees »), None hors du projet."""
    tete = nom_module.split(".")[0]
    return tete if tete in COUCHES else None


def correspond(nom_module: str, motif: str) -> bool:
    """Vrai si ``nom_module`` est ``motif`` ou l'un de ses sous-modules (« donnees.import_* » : préfixe)."""
    if motif.endswith("*"):
        return nom_module.startswith(motif[:-1])
    return nom_module == motif or nom_module.startswith(motif + ".")


def lire_imports(arbre: ast.AST) -> list[tuple[int, str]]:
    """(ligne, module) de chaque import absolu, « from a import b » donnant « a.b » et « a »."""
    imports = []
    for noeud in ast.walk(arbre):
        if isinstance(noeud, ast.Import):
            imports += [(noeud.lineno, alias.name) for alias in noeud.names]
        elif isinstance(noeud, ast.ImportFrom) and noeud.module and not noeud.level:
            imports.append((noeud.lineno, noeud.module))
            imports += [(noeud.lineno, f"{noeud.module}.{alias.name}") for alias in noeud.names]
    return imports


def lire_appels(arbre: ast.AST) -> list[tuple[int, str]]:
    """(ligne, « module.attribut ») des attributs de modules importés (alias résolus : gpd.read_file)."""
    alias = {}
    for noeud in ast.walk(arbre):
        if isinstance(noeud, ast.Import):
            for nom in noeud.names:
                if nom.asname:
                    alias[nom.asname] = nom.name
                else:
                    alias[nom.name.split(".")[0]] = nom.name.split(".")[0]
        elif isinstance(noeud, ast.ImportFrom) and noeud.module and not noeud.level:
            for nom in noeud.names:
                alias[nom.asname or nom.name] = f"{noeud.module}.{nom.name}"
    appels = []
    for noeud in ast.walk(arbre):
        if isinstance(noeud, ast.Attribute) and isinstance(noeud.value, ast.Name) and noeud.value.id in alias:
            appels.append((noeud.lineno, f"{alias[noeud.value.id]}.{noeud.attr}"))
        elif isinstance(noeud, ast.Name) and isinstance(noeud.ctx, ast.Load) and "." in alias.get(noeud.id, ""):
            appels.append((noeud.lineno, alias[noeud.id]))
    return appels


def controler_fichier(fichier: Path, racine: Path, exceptions=frozenset()) -> list[str]:
    """Les violations d'un fichier, chacune « chemin:ligne : explication »."""
    relatif = fichier.relative_to(racine).as_posix()
    couche = relatif.split("/")[0].removesuffix(".py")
    arbre = ast.parse(fichier.read_text(encoding="utf-8"), filename=relatif)
    violations, vus = [], set()
    for ligne, module in lire_imports(arbre):  # « from a import b » : a puis a.b, on ne cite que le premier
        cible = lire_couche(module)
        if cible and COUCHES[cible] < COUCHES[couche] and (ligne, cible) not in vus:
            vus.add((ligne, cible))
            violations.append(f"{relatif}:{ligne} : {couche}/ importe {module}, d'une couche plus haute ({cible}/)")
        for motif in MODULES_INTERDITS.get(couche, ()):
            if correspond(module, motif) and (relatif, motif) not in exceptions and (ligne, motif) not in vus:
                vus.add((ligne, motif))
                violations.append(f"{relatif}:{ligne} : {couche}/ ne doit pas importer {module}")
    for ligne, appel in lire_appels(arbre):
        for motif in APPELS_INTERDITS.get(couche, ()):
            if correspond(appel, motif) and (relatif, motif) not in exceptions:
                violations.append(f"{relatif}:{ligne} : {couche}/ ne doit pas appeler {motif} (lecture de fichier)")
    return sorted(set(violations), key=lambda v: (int(v.split(" : ")[0].split(":")[1]), v))


def controler_couches(racine: Path, exceptions=frozenset()) -> list[str]:
    """Toutes les violations de l'ordre des couches sous ``racine``."""
    return [v for fichier in lister_modules(racine) for v in controler_fichier(fichier, racine, exceptions)]


# ------------------------------------------------------------------------------------------------- tests


def test_couches_du_projet():
    violations = controler_couches(RACINE_PROJET, EXCEPTIONS_TEMPORAIRES)
    assert not violations, "Imports contraires à l'ordre des couches :\n" + "\n".join(violations)


def test_exceptions_temporaires_encore_utiles():
    """Une exception devenue inutile (module déplacé) doit être retirée de la liste."""
    for fichier, motif in EXCEPTIONS_TEMPORAIRES:
        chemin = RACINE_PROJET / fichier
        if not chemin.exists():
            continue
        assert any(motif in v for v in controler_fichier(chemin, RACINE_PROJET)), \
            f"{fichier} n'enfreint plus « {motif} » : retirer l'exception de EXCEPTIONS_TEMPORAIRES"


def test_tous_les_modules_sont_lus():
    fichiers = {f.relative_to(RACINE_PROJET).as_posix() for f in lister_modules(RACINE_PROJET)}
    assert {"app.py", "cli.py", "donnees/magasin/__init__.py", "indicateurs/calcul.py", "vues/cartes.py",
            "pages/commun.py", "services/__init__.py"} <= fichiers


def planter(tmp_path: Path, chemin: str, code: str) -> Path:
    """Un arbre de projet minimal avec un module ``chemin``."""
    for paquet in ("donnees", "indicateurs", "vues", "services", "pages"):
        (tmp_path / paquet).mkdir(exist_ok=True)
        (tmp_path / paquet / "__init__.py").write_text("")
    (tmp_path / chemin).write_text(code)
    return tmp_path


@pytest.mark.parametrize("chemin, code, attendu", [
    ("donnees/lecture.py", "import os\n\nimport streamlit as st\n",
     "donnees/lecture.py:3 : donnees/ ne doit pas importer streamlit"),
    ("donnees/lecture.py", "from indicateurs.calcul import calculer\n",
     "donnees/lecture.py:1 : donnees/ importe indicateurs.calcul, d'une couche plus haute (indicateurs/)"),
    ("indicateurs/calcul.py", "def f():\n    from donnees.magasin import Magasin\n",
     "indicateurs/calcul.py:2 : indicateurs/ ne doit pas importer donnees.magasin"),
    ("indicateurs/calcul.py", "from donnees.import_operations import importer\n",
     "indicateurs/calcul.py:1 : indicateurs/ ne doit pas importer donnees.import_operations"),
    ("indicateurs/calcul.py", "import geopandas as gpd\n\n\ndef f(p):\n    return gpd.read_file(p)\n",
     "indicateurs/calcul.py:5 : indicateurs/ ne doit pas appeler geopandas.read_file (lecture de fichier)"),
    ("indicateurs/calcul.py", "import rasterio\nrasterio.open('x.tif')\n",
     "indicateurs/calcul.py:2 : indicateurs/ ne doit pas appeler rasterio.open (lecture de fichier)"),
    ("services/export.py", "from streamlit import cache_data\n",
     "services/export.py:1 : services/ ne doit pas importer streamlit"),
    ("services/export.py", "import pages.commun\n",
     "services/export.py:1 : services/ importe pages.commun, d'une couche plus haute (pages/)"),
    ("vues/carte.py", "import streamlit_folium\n", "vues/carte.py:1 : vues/ ne doit pas importer streamlit_folium"),
    ("vues/carte.py", "from services import exporter\n",
     "vues/carte.py:1 : vues/ importe services, d'une couche plus haute (services/)"),
])
def test_violation_plantee_nommee(tmp_path, chemin, code, attendu):
    racine = planter(tmp_path, chemin, code)
    assert attendu in controler_couches(racine)


@pytest.mark.parametrize("chemin, code", [
    ("pages/carte.py", "import streamlit as st\nimport folium\nfrom services import exporter\n"),
    ("vues/cartes.py", "import folium\nimport plotly.graph_objects as go\nfrom indicateurs import calcul\n"),
    ("indicateurs/calcul.py", "import geopandas as gpd\nfrom donnees.schemas import ErreurDonnees\n"
                              "gpd.GeoDataFrame()\n"),
    ("services/export.py", "from donnees.magasin import Magasin\nfrom vues.fiches import rendre\n"),
])
def test_imports_permis(tmp_path, chemin, code):
    assert controler_couches(planter(tmp_path, chemin, code)) == []


def test_exception_temporaire_respectee(tmp_path):
    racine = planter(tmp_path, "indicateurs/modeles.py", "from donnees.magasin import Magasin\n")
    assert controler_couches(racine)
    assert controler_couches(racine, {("indicateurs/modeles.py", "donnees.magasin")}) == []


# ------------------------------------------------------------------------------------------------- ruff


def trouver_ruff() -> str | None:
    """L'exécutable ruff de l'environnement des tests, ou celui du chemin."""
    import shutil
    import sys

    voisin = Path(sys.executable).with_name("ruff")
    return str(voisin) if voisin.exists() else shutil.which("ruff")


@pytest.mark.parametrize("chemin, code, regle", [
    ("donnees/zz_violation_plantee.py", "import streamlit as st\n\nst.write('x')\n", "TID251"),
    ("indicateurs/zz_violation_plantee.py", "import plotly.express as px\n\npx.bar()\n", "TID251"),
    ("services/zz_violation_plantee.py", "import folium\n\nfolium.Map()\n", "TID251"),
    ("vues/zz_violation_plantee.py", "from streamlit import write\n\nwrite('x')\n", "TID251"),
])
def test_ruff_refuse_une_violation_plantee(chemin, code, regle):
    """Un module planté dans donnees/ (…) qui importe streamlit fait échouer ``ruff check``.

    Le module est passé sur l'entrée standard sous son chemin (``--stdin-filename``) : ruff applique la
    configuration de ce chemin (pyproject.toml, vues/ruff.toml) sans qu'aucun fichier soit écrit dans
    l'arbre, que lisent en parallèle les autres tests.
    """
    import subprocess

    ruff = trouver_ruff()
    if ruff is None:
        from outils import manquer
        manquer("ruff introuvable")
    res = subprocess.run([ruff, "check", "--no-cache", "--output-format", "concise", "--stdin-filename", chemin],
                         input=code, cwd=RACINE_PROJET, capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"{chemin}:1:" in res.stdout and regle in res.stdout, res.stdout


def test_ruff_permet_les_imports_des_couches_d_interface():
    ruff = trouver_ruff()
    if ruff is None:
        from outils import manquer
        manquer("ruff introuvable")
    import subprocess

    for chemin, code in [("pages/zz.py", "import streamlit as st\n\nst.write('x')\n"),
                         ("vues/zz.py", "import folium\n\nfolium.Map()\n")]:
        res = subprocess.run([ruff, "check", "--no-cache", "--stdin-filename", chemin], input=code,
                             cwd=RACINE_PROJET, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr


def test_make_test_lance_ruff_avant_pytest():
    """`make test` (et donc la CI, .ci/run) passe ruff avant les tests."""
    lignes = (RACINE_PROJET / "Makefile").read_text(encoding="utf-8").split("\ntest:", 1)[1].split("\n\n")[0]
    commandes = [ligne.strip() for ligne in lignes.splitlines() if ligne.startswith("\t")]
    assert commandes[0].endswith("ruff check .") and "pytest" in commandes[1], commandes
