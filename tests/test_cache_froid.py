"""Démarrage à froid : sommes aux abords et modèle de l'eau gardés dans le cache disque, relus par un nouveau
processus (caches mémoire vidés) sans recalcul, recalculés si le fichier est abîmé ou si la clé change."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from donnees import cache_modeles
from indicateurs import chaleur as ch
from indicateurs.parametres import lire_parametres
from services import indicateurs as service_indicateurs
from services import modeles as service_modeles
from services.magasin import lire_registre


def _simuler_nouveau_processus() -> None:
    """Vide les caches mémoire (grille, chaleur, sommes aux abords) après les écritures en arrière-plan."""
    service_modeles.attendre_ecritures_cache()
    service_modeles._GRILLES.clear()
    ch.vider_cache_memoire()
    service_indicateurs._SOMMES_ABORDS.clear()


def _interdire_calculs(monkeypatch) -> None:
    def refuser(*args, **kwargs):
        raise AssertionError("recalcul au lieu de la relecture du cache disque")

    monkeypatch.setattr(service_indicateurs, "sommer_chaleur_abords", refuser)
    monkeypatch.setattr(service_modeles, "calculer_eau_modeles", refuser)


def _compter_calculs(monkeypatch) -> dict:
    appels = {"abords": 0, "eau": 0}
    sommer, calculer_eau = service_indicateurs.sommer_chaleur_abords, service_modeles.calculer_eau_modeles

    def sommer_compte(*args, **kwargs):
        appels["abords"] += 1
        return sommer(*args, **kwargs)

    def eau_comptee(*args, **kwargs):
        appels["eau"] += 1
        return calculer_eau(*args, **kwargs)

    monkeypatch.setattr(service_indicateurs, "sommer_chaleur_abords", sommer_compte)
    monkeypatch.setattr(service_modeles, "calculer_eau_modeles", eau_comptee)
    return appels


def _fichiers(dossier, prefixe: str) -> list:
    return sorted(cache_modeles.dossier_cache(dossier).glob(f"{prefixe}_*.npz"))


@pytest.fixture
def dossier_froid(dossier_demo, tmp_path):
    """Copie de la démonstration sans cache disque, caches mémoire vidés avant et après."""
    copie = tmp_path / "demo"
    shutil.copytree(dossier_demo, copie)
    shutil.rmtree(cache_modeles.dossier_cache(copie), ignore_errors=True)
    _simuler_nouveau_processus()
    yield copie
    _simuler_nouveau_processus()


def _sommes_et_eau(dossier, parametres=None, cache_disque: bool = True):
    parametres = parametres or lire_parametres()
    operations, zones, _ = lire_registre(dossier)
    modeles = service_modeles.calculer_modeles_territoire(dossier, cache_disque=cache_disque)
    sommes = service_indicateurs.calculer_sommes_abords(modeles, zones, operations, parametres)
    return modeles, sommes


def test_relecture_sans_recalcul_dans_un_nouveau_processus(dossier_froid, monkeypatch):
    premiere = service_indicateurs.calculer_indicateurs_territoire(dossier_froid)
    assert len(_fichiers(dossier_froid, "abords")) == 1
    assert len(_fichiers(dossier_froid, "eau")) == 1
    parametres = lire_parametres(service_indicateurs.lire_territoire(dossier_froid).get("parametres"))
    cle = next(iter(service_indicateurs._SOMMES_ABORDS))
    sommes_calculees = service_indicateurs._SOMMES_ABORDS[cle]
    eau_calculee = service_modeles.calculer_modeles_territoire(dossier_froid, cache_disque=False).eau_communes

    _simuler_nouveau_processus()
    _interdire_calculs(monkeypatch)
    seconde = service_indicateurs.calculer_indicateurs_territoire(dossier_froid)
    pd.testing.assert_frame_equal(seconde, premiere, check_exact=True)
    pd.testing.assert_frame_equal(service_indicateurs._SOMMES_ABORDS[cle], sommes_calculees, check_exact=True)
    modeles = service_modeles.calculer_modeles_territoire(dossier_froid)
    pd.testing.assert_frame_equal(modeles.eau_communes, eau_calculee, check_exact=True)
    assert float(parametres["largeur_anneau_operation_m"]) == cle[1]


def test_fichier_abime_recalcule(dossier_froid, monkeypatch):
    modeles, sommes = _sommes_et_eau(dossier_froid)
    eau = modeles.eau_communes
    for prefixe in ("abords", "eau"):
        (fichier,) = _fichiers(dossier_froid, prefixe)
        fichier.write_bytes(fichier.read_bytes()[: fichier.stat().st_size // 2])  # archive tronquée
    _simuler_nouveau_processus()
    appels = _compter_calculs(monkeypatch)
    modeles_relus, sommes_relues = _sommes_et_eau(dossier_froid)
    assert appels == {"abords": 1, "eau": 1}
    pd.testing.assert_frame_equal(sommes_relues, sommes, check_exact=True)
    pd.testing.assert_frame_equal(modeles_relus.eau_communes, eau, check_exact=True)
    for prefixe in ("abords", "eau"):  # réécrits lisibles
        (fichier,) = _fichiers(dossier_froid, prefixe)
        assert cache_modeles.lire_npz(fichier) is not None


def test_parametre_change_la_cle(dossier_froid):
    modeles, _ = _sommes_et_eau(dossier_froid)
    parametres = lire_parametres()
    _sommes_et_eau(dossier_froid, lire_parametres({"largeur_anneau_operation_m": 50}))
    assert len(_fichiers(dossier_froid, "abords")) == 2
    cle_eau = service_modeles.calculer_cle_eau(modeles.chaleur, modeles.occupation, parametres)
    pluie = lire_parametres({"pluie_annuelle_mm": 700})
    assert service_modeles.calculer_cle_eau(modeles.chaleur, modeles.occupation, pluie) != cle_eau


def test_sans_cache_disque_rien_n_est_ecrit(dossier_froid):
    modeles, sommes = _sommes_et_eau(dossier_froid, cache_disque=False)
    assert modeles.dossier_donnees is None and sommes is not None
    assert not _fichiers(dossier_froid, "abords") and not _fichiers(dossier_froid, "eau")


def test_table_relue_a_l_identique(tmp_path):
    table = pd.DataFrame({"code_insee": pd.Series(["34001", "34002"], dtype=object), "n": np.array([1, 2]),
                          "x": [np.nan, 1.5], "s": pd.Series(["a", "b"], dtype="str")},
                         index=pd.RangeIndex(2))
    indexee = table.set_index("code_insee")
    chemin = cache_modeles.chemin_cache(tmp_path, "essai", "cle")
    assert cache_modeles.ecrire_tables_npz(chemin, "essai", t=table, i=indexee)
    relues = cache_modeles.lire_tables_npz(chemin, "t", "i")
    pd.testing.assert_frame_equal(relues["t"], table, check_exact=True)
    pd.testing.assert_frame_equal(relues["i"], indexee, check_exact=True)
    assert cache_modeles.lire_tables_npz(chemin, "absente") is None


def test_chaleur_relue_projetee_avec_ses_tables_par_commune(dossier_froid, monkeypatch):
    """Relue sur disque, la chaleur garde ses tables par commune (pas de réagrégation des grilles) et ses grilles
    T_air sont projetées en mémoire (``memmap`` en lecture seule, pas lues) : mêmes valeurs, au bit près."""
    calculee = service_modeles.calculer_modeles_territoire(dossier_froid).chaleur
    _simuler_nouveau_processus()

    def refuser(*args, **kwargs):
        raise AssertionError("tables par commune réagrégées au lieu d'être relues")

    monkeypatch.setattr("indicateurs.modeles.agreger_chaleur_communes", refuser)
    relue = service_modeles.calculer_modeles_territoire(dossier_froid).chaleur
    assert "etat" not in relue.meta  # relue sur disque
    pd.testing.assert_frame_equal(relue.communes, calculee.communes, check_exact=True)
    pd.testing.assert_frame_equal(relue.operations, calculee.operations, check_exact=True)
    for nom, grille in calculee.t_air.items():
        assert isinstance(relue.t_air[nom], np.memmap) and not relue.t_air[nom].flags.writeable
        np.testing.assert_array_equal(np.asarray(relue.t_air[nom]), grille)


def test_archive_projetee_abimee_recalculee(dossier_froid):
    """Une archive de chaleur tronquée (grilles projetées illisibles) est recalculée, jamais utilisée à moitié."""
    calculee = service_modeles.calculer_modeles_territoire(dossier_froid).chaleur
    (fichier,) = _fichiers(dossier_froid, "chaleur")
    fichier.write_bytes(fichier.read_bytes()[: fichier.stat().st_size - 1000])
    assert cache_modeles.lire_npz(fichier, projeter=True) is None
    _simuler_nouveau_processus()
    relue = service_modeles.calculer_modeles_territoire(dossier_froid).chaleur
    for nom, grille in calculee.t_air.items():
        np.testing.assert_array_equal(np.asarray(relue.t_air[nom]), grille)


def test_archive_d_avant_les_tables_gardees_toujours_relue(dossier_froid):
    """Une archive de chaleur écrite avant que ses tables soient gardées colonne par colonne (grilles et JSON des
    opérations seulement) est relue : communes réagrégées, mêmes tables."""
    calculee = service_modeles.calculer_modeles_territoire(dossier_froid).chaleur
    service_modeles.attendre_ecritures_cache()
    (fichier,) = _fichiers(dossier_froid, "chaleur")
    tableaux = cache_modeles.lire_npz(fichier)
    anciens = {nom: v for nom, v in tableaux.items()
               if not nom.startswith(("communes__", "table_operations__"))}
    assert len(anciens) < len(tableaux)
    cache_modeles.ecrire_npz(fichier, **anciens)
    _simuler_nouveau_processus()
    relue = service_modeles.calculer_modeles_territoire(dossier_froid).chaleur
    assert "etat" not in relue.meta
    pd.testing.assert_frame_equal(relue.communes, calculee.communes, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(relue.operations, calculee.operations, check_exact=False, rtol=1e-9)


def test_registre_des_modeles_garde_tant_que_la_base_ne_change_pas(dossier_froid, monkeypatch):
    """Démarrage à froid : les zones validées que lisent les modèles sont relues d'un fichier gardé (mêmes tables,
    mêmes types) tant que la base SQLite n'a pas changé ; une écriture, même en SQL direct, les fait relire."""
    import sqlite3

    import geopandas as gpd

    from donnees.config import NOM_BASE_SQLITE
    from services.magasin import lire_registre_modeles, ouvrir_magasin

    with ouvrir_magasin(dossier_froid) as magasin:
        magasin.compter()  # base copiée avec son journal -wal (démonstration ouverte ailleurs) : reporté à la fermeture
    with ouvrir_magasin(dossier_froid) as magasin:
        attendues = magasin.lire_registre_modeles()
        premieres = lire_registre_modeles(magasin, dossier_froid)
    gardes = sorted(cache_modeles.dossier_cache(dossier_froid).glob("registre_modeles_*.parquet"))
    assert len(gardes) == 2
    for obtenue, attendue in zip(premieres, attendues):
        pd.testing.assert_frame_equal(obtenue, attendue, check_exact=True)

    with ouvrir_magasin(dossier_froid) as magasin:
        def refuser():
            raise AssertionError("zones relues dans la base au lieu du fichier gardé")

        monkeypatch.setattr(magasin, "lire_registre_modeles", refuser)
        relues = lire_registre_modeles(magasin, dossier_froid)
    for obtenue, attendue in zip(relues, attendues):
        pd.testing.assert_frame_equal(obtenue, attendue, check_exact=True)
    assert isinstance(relues[1], gpd.GeoDataFrame) and str(relues[1].crs) == str(attendues[1].crs)
    modeles = service_modeles.calculer_modeles_territoire(dossier_froid, registre=attendues)
    service_modeles.attendre_ecritures_cache()
    _simuler_nouveau_processus()
    _interdire_calculs(monkeypatch)
    monkeypatch.setattr(service_modeles, "calculer_chaleur_territoire", lambda *a, **k: refuser())
    relus = service_modeles.calculer_modeles_territoire(dossier_froid, registre=relues, incremental=False)
    assert relus.chaleur.cle == modeles.chaleur.cle  # même clé : les modèles gardés sont relus

    zone = int(attendues[1]["zone_id"].iloc[0])
    with sqlite3.connect(dossier_froid / NOM_BASE_SQLITE) as base:  # écriture hors de l'application
        base.execute("UPDATE zone SET revetement_apres = 'pleine_terre' WHERE id = ?", (zone,))
    with ouvrir_magasin(dossier_froid) as magasin:
        apres = lire_registre_modeles(magasin, dossier_froid)
    assert apres[1].set_index("zone_id").at[zone, "revetement_apres"] == "pleine_terre"
    assert len(sorted(cache_modeles.dossier_cache(dossier_froid).glob("registre_modeles_*.parquet"))) == 2
