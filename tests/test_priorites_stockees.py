"""Priorités par commune (issue 14) : calculées une commune par tâche sur une vraie grappe Dask de 2 processus
(dont l'un est tué en cours de calcul), stockées, égales au calcul d'un seul tenant ; relues par la page sans
recalcul ; invalidées commune par commune ; commune sans parcelle et partition manquante signalées, les autres
calculées."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import pytest
from outils import lancer_appli

from donnees.referentiel import chemin_couche, ecrire_couche, lire_couche, lire_territoire
from indicateurs.parametres import lire_parametres
from indicateurs.priorites import calculer_priorites
from services import priorites as service
from services.magasin import ouvrir_magasin

SANS_PARCELLE = "34017"  # parcelles retirées de la couche
SANS_PARTITION = "34039"  # partition de l'occupation du sol retirée


def _registre(dossier: Path) -> pd.DataFrame:
    with ouvrir_magasin(dossier) as magasin:
        return magasin.lire_operations()


def _reference(dossier: Path) -> pd.DataFrame:
    """Calcul d'un seul tenant, sur tout le territoire (couches entières, registre entier)."""
    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    return calculer_priorites(lire_couche("parcelles", dossier), lire_couche("occupation", dossier),
                              operations=_registre(dossier), parametres=parametres)


def _partitionner_occupation(dossier: Path, sauf: str) -> None:
    """Occupation du sol rangée par commune (``occupation/code_insee=<code>/``), sans la partition ``sauf``."""
    if (dossier / "occupation").is_dir():  # couche déjà rangée par commune : la partition est retirée
        shutil.rmtree(dossier / "occupation" / f"code_insee={sauf}")
        return
    occupation = gpd.read_parquet(chemin_couche("occupation", dossier))
    for code, morceau in occupation.groupby("code_insee", sort=True):
        if code != sauf:
            partition = dossier / "occupation" / f"code_insee={code}"
            partition.mkdir(parents=True)
            morceau.to_parquet(partition / "part-0.parquet", index=False)
    chemin_couche("occupation", dossier).unlink()


@pytest.fixture(scope="module")
def calcul_reparti(dossier_demo, tmp_path_factory):
    """Démo copiée, une commune sans parcelle, occupation partitionnée sans une commune ; toutes les communes
    calculées sur une grappe locale de 2 processus. Rend (dossier, bilan, référence d'un seul tenant)."""
    dossier = tmp_path_factory.mktemp("priorites") / "demo"
    shutil.copytree(dossier_demo, dossier)
    shutil.rmtree(dossier / "cache", ignore_errors=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DESIMPER_BASE_URL", raising=False)
        patch.delenv("DESIMPER_DASK_SCHEDULER", raising=False)
        parcelles = lire_couche("parcelles", dossier)
        ecrire_couche("parcelles", parcelles[parcelles["commune"].ne(SANS_PARCELLE)], dossier)
        reference = _reference(dossier)
        _partitionner_occupation(dossier, SANS_PARTITION)
        etapes, tues = [], []

        def avancer(etape: str, fraction: float) -> None:
            """Après la première commune, tue un processus de calcul : ses tâches sont reprises ailleurs."""
            etapes.append(fraction)
            if len(etapes) == 1:
                tues.extend(_tuer_un_processus_dask())

        bilan = service.calculer_priorites_territoire(dossier, processus=2, progression=avancer)
        yield dossier, bilan.set_index("code"), reference, (etapes, tues)


def _tuer_un_processus_dask() -> list[int]:
    """Tue (SIGKILL) un processus de calcul de la grappe locale (enfant lancé par « spawn ») ; rend son pid."""
    for enfant in psutil.Process().children():
        if any("spawn_main" in morceau for morceau in enfant.cmdline()):
            enfant.kill()
            enfant.wait(10)
            return [enfant.pid]
    return []


def test_par_commune_sur_2_processus_egal_au_calcul_d_un_seul_tenant(calcul_reparti):
    dossier, bilan, reference, (etapes, tues) = calcul_reparti
    assert etapes and etapes[-1] == pytest.approx(1.0)
    assert len(tues) == 1 and not psutil.pid_exists(tues[0])  # un processus tué en cours de calcul
    calculees = bilan.index[bilan["statut"].eq("calculee")]
    # La commune sans partition, et ses voisines dont une parcelle déborde sur elle, sont en échec.
    assert len(calculees) == len(lire_territoire(dossier)["codes_insee"]) - 1 - bilan["statut"].eq("erreur").sum()
    assert len(calculees) >= 20
    for code in calculees:
        stockee = pd.read_parquet(service.chemin_priorites(dossier, code))
        attendue = reference[reference["code_insee"].eq(code)].reset_index(drop=True)
        assert len(stockee) == bilan.at[code, "parcelles"] > 0
        assert stockee["id"].tolist() == attendue["id"].tolist(), code  # même ordre de classement
        assert stockee["rang_priorite"].equals(attendue["rang_priorite"]), code
        np.testing.assert_allclose(stockee["score_priorite"], attendue["score_priorite"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(stockee["surface_impermeable_parcelle"],
                                   attendue["surface_impermeable_parcelle"], rtol=0, atol=1e-6)
        assert stockee["parcelle_candidate"].equals(attendue["parcelle_candidate"])
        assert stockee["deja_traitee"].equals(attendue["deja_traitee"])
    assert reference["deja_traitee"].any()  # le registre écarte bien des parcelles
    assert not list((dossier / "cache" / "priorites").glob(".*"))  # aucun fichier à moitié écrit laissé


def test_commune_sans_parcelle_et_partition_manquante_signalees(calcul_reparti):
    dossier, bilan, _, _ = calcul_reparti
    assert bilan.at[SANS_PARCELLE, "statut"] == "sans_parcelle"
    erreurs = bilan[bilan["statut"].eq("erreur")]
    assert SANS_PARTITION in erreurs.index
    assert erreurs["message"].str.contains("partition de la commune 34039 absente", regex=False).all()
    assert not any(service.chemin_priorites(dossier, code).exists() for code in erreurs.index)
    lignes = service.decrire_bilan(bilan.reset_index())
    assert lignes[0].startswith("Commune Aumes (34017) : sans parcelle — aucune parcelle")
    assert ("Commune Bouzigues (34039) : en échec — Couche « occupation du sol (OCS GE) » : partition de la "
            "commune 34039 absente") in "\n".join(lignes)
    assert lignes[-1] == (f"Priorités : 25 communes ({24 - len(erreurs)} calculées, 1 sans parcelle, "
                          f"{len(erreurs)} en échec).")


def test_processus_unique_egal_a_la_grappe(calcul_reparti, tmp_path):
    """Sans Dask, dans ce processus : mêmes tables que celles stockées par la grappe de 2 processus."""
    dossier, _, _, _ = calcul_reparti
    copie = tmp_path / "demo"
    shutil.copytree(dossier, copie, ignore=shutil.ignore_patterns("cache"))
    parametres = lire_parametres(lire_territoire(copie).get("parametres"))
    citees = service.regrouper_parcelles_citees(_registre(copie))
    for code in ("34301", "34003"):
        assert service.calculer_stocker_commune(str(copie), code, parametres, citees)["statut"] == "calculee"
        pd.testing.assert_frame_equal(pd.read_parquet(service.chemin_priorites(copie, code)),
                                      pd.read_parquet(service.chemin_priorites(dossier, code)))


def test_invalidation_commune_par_commune(calcul_reparti, tmp_path, monkeypatch):
    dossier, bilan, _, _ = calcul_reparti
    copie = tmp_path / "demo"
    shutil.copytree(dossier, copie)
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    territoire = lire_territoire(copie)
    parametres = lire_parametres(territoire.get("parametres"))
    a_jour = list(bilan.index[bilan["statut"].eq("calculee")])

    def relues(registre) -> set[str]:
        citees = service.regrouper_parcelles_citees(registre)
        return {c for c in a_jour if service.lire_priorites_stockees(copie, c, parametres, citees) is not None}

    registre = _registre(copie)
    assert relues(registre) == set(a_jour)
    # Une nouvelle opération cite une parcelle candidate de Sète : seule Sète est à recalculer.
    sete = pd.read_parquet(service.chemin_priorites(copie, "34301"))
    parcelle = sete.loc[sete["parcelle_candidate"], "id"].iloc[0]
    nouvelle = pd.concat([registre, pd.DataFrame({"parcelles": [[parcelle]]})], ignore_index=True)
    assert relues(nouvelle) == set(a_jour) - {"34301"}
    recalculee = service.obtenir_priorites_commune("34301", copie, parametres, nouvelle).set_index("id")
    assert recalculee.at[parcelle, "deja_traitee"] and not recalculee.at[parcelle, "parcelle_candidate"]
    assert relues(nouvelle) == set(a_jour)  # stockée à nouveau
    # Un paramètre du territoire change : toutes les communes sont périmées.
    autres = lire_parametres({**territoire.get("parametres", {}), "uhi_max_c": parametres["uhi_max_c"] + 0.5})
    citees = service.regrouper_parcelles_citees(nouvelle)
    assert all(service.lire_priorites_stockees(copie, c, autres, citees) is None for c in a_jour)
    # Un fichier abîmé n'est jamais relu : il est recalculé.
    service.chemin_priorites(copie, "34003").write_bytes(b"PAR1 tronque")
    assert service.lire_priorites_stockees(copie, "34003", parametres, citees) is None
    assert len(service.obtenir_priorites_commune("34003", copie, parametres, nouvelle))
    assert not list((copie / "cache" / "priorites").glob(".*"))  # aucun temporaire laissé


def test_page_lit_le_stockage_sans_recalculer(calcul_reparti, tmp_path, monkeypatch):
    dossier, _, _, _ = calcul_reparti
    copie = tmp_path / "demo"
    shutil.copytree(dossier, copie)
    # Modèles à refaire depuis l'occupation (dont une partition manque) : ni grille gardée sur disque, ni résultat
    # d'une démo identique resté en mémoire d'un autre test de ce processus (clés tirées du contenu des fichiers).
    from indicateurs import chaleur as ch
    from services import modeles as service_modeles

    for fichier in (copie / "cache").glob("*.npz"):
        fichier.unlink()
    service_modeles._GRILLES.clear()
    ch.vider_cache_memoire()
    appels = []
    calcul = service._calculer_commune
    monkeypatch.setattr(service, "_calculer_commune", lambda *args: appels.append(args[1]) or calcul(*args))
    appli = lancer_appli(monkeypatch, copie)
    appli.switch_page("pages/commune.py")
    appli.query_params["code"] = "34301"
    appli.session_state["commune_section"] = "Parcelles prioritaires"
    appli.run()
    assert not appli.exception, appli.exception
    assert appels == []  # lues dans le stockage
    # Partition d'occupation retirée (fixture) : la page le dit, en nommant la commune, et reste utilisable.
    avertissements = " ".join(a.value for a in appli.warning)
    assert "Occupation du sol illisible pour 1 commune(s) : " in avertissements and SANS_PARTITION in avertissements
    assert "Modèles chaleur et eau indisponibles" in avertissements
    attendues = pd.read_parquet(service.chemin_priorites(copie, "34301"))
    assert any(f"{int(attendues['parcelle_candidate'].sum())} parcelles candidates" in c.value for c in appli.caption)
    # Stockage effacé : la page calcule cette seule commune et la stocke.
    service.chemin_priorites(copie, "34003").unlink()
    appli.query_params["code"] = "34003"
    appli.run()
    assert not appli.exception, appli.exception
    assert appels == ["34003"]
    assert service.chemin_priorites(copie, "34003").exists()


def test_commande_desimper_priorites_calculer(calcul_reparti, tmp_path, capsys, monkeypatch):
    import cli

    dossier, _, _, _ = calcul_reparti
    copie = tmp_path / "demo"
    shutil.copytree(dossier, copie)
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    monkeypatch.delenv("DESIMPER_DASK_PROCESSUS", raising=False)
    arguments = ["priorites", "calculer", "--commune", "34301", "--commune", "34003", "--dossier", str(copie)]
    assert cli.main(arguments) == 0  # déjà à jour : aucune grappe lancée
    sortie = capsys.readouterr().out.splitlines()
    assert sortie[0] == "Priorités : 2 communes (2 déjà à jour)."
    assert sortie[1].startswith("Durée : ")
    assert cli.main([*arguments, "--processus", "0"]) == 2
    assert ("Erreur : Nombre de processus Dask invalide (0) : donnez un entier ≥ 1 (--processus N)."
            in capsys.readouterr().err)
    monkeypatch.setenv("DESIMPER_DASK_PROCESSUS", "abc")
    assert cli.main([*arguments, "--forcer"]) == 2
    assert "Nombre de processus Dask invalide ('abc')" in capsys.readouterr().err
