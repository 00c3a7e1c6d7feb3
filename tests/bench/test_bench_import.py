"""Mesure (make bench) de l'import du cadastre à l'échelle d'un territoire réel.

Les parcelles de la démonstration complète (≈ 188 000, 25 communes) sont réécrites au format Etalab
(`cadastre-<insee>-parcelles.json.gz`, un fichier par commune, `properties.id` comme à la source), puis
importées par `desimper importer parcelles --depuis …` dans un territoire réel qui n'a que ses communes.
Aucun budget dans CONCEPTION §7 : on vérifie le résultat et l'on note la durée et le débit dans
tests/sorties/bench_import.json (garde-fou : moins de 5 minutes).
"""

import gzip
import json
import shutil
import time
from pathlib import Path

import shapely

import cli
from donnees.referentiel import lire_couche, lire_territoire
from outils import enregistrer_mesure


def _ecrire_fichiers_etalab(parcelles, dossier: Path) -> list[Path]:
    """Un GeoJSON gzippé par commune, au format du cadastre Etalab."""
    chemins = []
    geometries = shapely.to_geojson(parcelles.geometry.to_numpy())
    for code, index in parcelles.groupby("commune").indices.items():
        lignes = []
        for i in index:
            ligne = parcelles.iloc[i]
            proprietes = {"id": ligne["id"], "commune": ligne["commune"], "prefixe": ligne["prefixe"],
                          "section": ligne["section"], "numero": ligne["numero"],
                          "contenance": int(ligne["contenance"]), "arpente": False,
                          "created": "2005-06-10", "updated": "2025-04-01"}
            lignes.append(f'{{"type":"Feature","id":"{ligne["id"]}","geometry":{geometries[i]},'
                          f'"properties":{json.dumps(proprietes)}}}')
        chemin = dossier / f"cadastre-{code}-parcelles.json.gz"
        with gzip.open(chemin, "wt", encoding="utf-8", compresslevel=6) as f:
            f.write('{"type":"FeatureCollection","features":[\n' + ",\n".join(lignes) + "\n]}")
        chemins.append(chemin)
    return chemins


def test_import_du_cadastre_de_tout_le_territoire(demo_complete, tmp_path, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    parcelles = lire_couche("parcelles", demo_complete)
    sources = tmp_path / "etalab"
    sources.mkdir()
    fichiers = _ecrire_fichiers_etalab(parcelles, sources)
    reel = tmp_path / "reel"
    reel.mkdir()
    for nom in ("communes.parquet", "communes_affichage.parquet"):
        shutil.copy(demo_complete / nom, reel / nom)
    territoire = lire_territoire(demo_complete)
    (reel / "territoire.json").write_text(json.dumps({"nom": "Territoire d'essai", "demo": False,
                                                      "codes_insee": territoire["codes_insee"]}), encoding="utf-8")
    debut = time.perf_counter()
    code = cli.main(["importer", "parcelles", "--dossier", str(reel), "--depuis", *map(str, fichiers)])
    duree = time.perf_counter() - debut
    assert code == 0
    importees = lire_couche("parcelles", reel)
    assert len(importees) == len(parcelles)
    assert set(importees["id"]) == set(parcelles["id"])
    mesures = {"parcelles": len(parcelles), "fichiers": len(fichiers),
               "octets_gzip": sum(f.stat().st_size for f in fichiers),
               "import_parcelles_s": round(duree, 2), "parcelles_par_seconde": round(len(parcelles) / duree)}
    for cle, valeur in mesures.items():
        enregistrer_mesure("bench_import.json", cle, valeur)
    assert duree < 300, mesures
