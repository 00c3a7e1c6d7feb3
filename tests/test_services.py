"""Couche de services : une fonction par cas d'usage, la même pour l'application et la ligne de commande."""

import ast
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cli
from donnees.erreurs import ErreurDonnees

RACINE = Path(__file__).resolve().parents[1]


def _imports(chemin: Path) -> set[str]:
    arbre = ast.parse(chemin.read_text(encoding="utf-8"))
    noms = set()
    for noeud in ast.walk(arbre):
        if isinstance(noeud, ast.Import):
            noms.update(alias.name for alias in noeud.names)
        elif isinstance(noeud, ast.ImportFrom) and noeud.module:
            noms.add(noeud.module)
    return noms


def test_indicateurs_purs_et_services_sans_streamlit():
    """`indicateurs/` n'importe ni le magasin, ni le référentiel, ni les lecteurs de fichiers, ni les services ;
    `services/` n'importe ni streamlit ni les pages."""
    interdits = ("donnees.magasin", "donnees.referentiel", "donnees.rasters", "donnees.cache_modeles",
                 "donnees.config", "services", "pages", "streamlit")
    for chemin in sorted((RACINE / "indicateurs").glob("*.py")):
        fautifs = {n for n in _imports(chemin) if n.startswith(interdits)}
        assert not fautifs, f"{chemin.name} importe {fautifs}"
    for chemin in sorted((RACINE / "services").glob("*.py")):
        fautifs = {n for n in _imports(chemin) if n.startswith(("streamlit", "pages", "folium", "plotly"))}
        assert not fautifs, f"{chemin.name} importe {fautifs}"
    assert not (RACINE / "indicateurs" / "territoire.py").exists()


def test_indicateurs_application_et_ligne_de_commande_identiques(dossier_demo, monkeypatch):
    """Le tableau de la CLI (registre entier) et celui de l'application (mêmes entrées) ont les mêmes valeurs."""
    from donnees.referentiel import lire_territoire
    from indicateurs.parametres import lire_parametres
    from services import indicateurs
    from services.magasin import lire_registre
    from services.modeles import calculer_modeles_territoire

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    cli_table = indicateurs.calculer_indicateurs_territoire(dossier_demo)
    referentiel = indicateurs.lire_referentiel_indicateurs(dossier_demo)
    parametres = lire_parametres(lire_territoire(dossier_demo).get("parametres"))
    # issue 11 : la CLI compte par défaut les opérations réalisées, comme les pages
    realisees = indicateurs.Filtres(statuts=indicateurs.STATUTS_REALISES)
    application = indicateurs.assembler_indicateurs_communes(
        *lire_registre(dossier_demo), referentiel, parametres, realisees, calculer_modeles_territoire(dossier_demo))
    application = indicateurs.ajouter_ratios(application, referentiel.communes)
    assert set(application.columns) == set(cli_table.columns)
    pd.testing.assert_frame_equal(application[cli_table.columns].reset_index(drop=True),
                                  cli_table.reset_index(drop=True))
    assert application.attrs["annee_reference"] == cli_table.attrs["annee_reference"]
    ligne, bassin = indicateurs.extraire_commune(application, referentiel.communes["code_insee"].iloc[0])
    assert bassin.name == "bassin" and ligne.name == referentiel.communes["code_insee"].iloc[0]
    garde = indicateurs.garder_communes(cli_table, [ligne.name])
    assert list(garde["territoire"]) == [ligne.name, "bassin"]
    assert "aides_par_financeur" in garde.attrs
    with pytest.raises(ErreurDonnees, match="inconnue"):
        indicateurs.garder_communes(cli_table, ["99999"])


def test_cli_indicateurs_commune_inconnue(dossier_demo, capsys, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    code = cli.main(["indicateurs", "--dossier", str(dossier_demo), "--sans-grille", "--commune", "99999"])
    assert code == 2
    assert "Erreur : commune(s) inconnue(s) dans le territoire : 99999." in capsys.readouterr().err


def test_apercu_de_saisie_egal_aux_indicateurs_de_l_operation(dossier_demo):
    """L'aperçu de la saisie donne les mêmes surface et volume que les indicateurs de l'opération."""
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from donnees.nomenclatures import lire_revetements
    from indicateurs.calcul import calculer_indicateurs_operations
    from indicateurs.communs import recalculer_surfaces
    from indicateurs.parametres import lire_parametres
    from services.saisie import estimer_apercu

    magasin = Magasin(url_base(dossier_demo))
    operations, zones = magasin.lire_operations(), magasin.lire_zones()
    magasin.fermer()
    parametres = lire_parametres()
    par_operation = calculer_indicateurs_operations(operations, zones, None, parametres).set_index("operation_id")
    for ident in operations["id"].head(5):
        saisies = zones[zones["operation_id"].eq(ident).to_numpy(bool)].copy()
        saisies["surface_m2"] = recalculer_surfaces(saisies).to_numpy()
        apercu = estimer_apercu(saisies, lire_revetements(), parametres)
        attendu = par_operation.loc[ident]
        assert apercu["surface_desimpermeabilisee"] == pytest.approx(attendu["surface_desimpermeabilisee"])
        assert apercu["volume_infiltre"] == pytest.approx(attendu["volume_infiltre"])
        assert apercu["score_chaleur"]["delta_t_site_c"] < 0  # issue 12 : effet local calibré


def _png() -> bytes:
    from PIL import Image

    flux = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(flux, format="PNG")
    return flux.getvalue()


class _FacadeFactice:
    def __init__(self, refus: bool):
        self.refus, self.recues = refus, []

    def soumettre_operation(self, operation, jeton_soumission=None):
        """Comme la façade : (identifiant, créée) ; le service y passe le jeton du formulaire."""
        self.recues.append(operation)
        if self.refus:
            raise ErreurDonnees("Refusé.", "operation")
        return 41, True


def test_saisie_avec_photos_tout_ou_rien(tmp_path):
    from services.saisie import PhotoDeposee, enregistrer_saisie

    photos = [PhotoDeposee(_png(), "avant.png", "avant"), PhotoDeposee(_png(), "apres.png", "apres")]
    refus = _FacadeFactice(refus=True)
    with pytest.raises(ErreurDonnees):
        enregistrer_saisie(refus, {"nom": "Cour"}, photos, [], tmp_path)
    assert len(refus.recues[0]["photos"]) == 2
    assert not [f for f in tmp_path.rglob("*") if f.is_file()]  # photos retirées après le refus
    accord = _FacadeFactice(refus=False)
    gardee = {"moment": "avant", "chemin": "photos/ancienne.png", "legende": "ancienne", "id": 3}
    ident, message = enregistrer_saisie(accord, {"nom": "Cour"}, photos, [gardee], tmp_path)
    assert ident == 41 and "à valider" in message
    recue = accord.recues[0]
    assert recue["validation"] == "a_valider"
    assert [p["moment"] for p in recue["photos"]] == ["avant", "avant", "apres"]
    assert all((tmp_path / p["chemin"]).is_file() for p in recue["photos"][1:])


def test_exports_operations_et_tables(dossier_demo):
    import geopandas as gpd

    from donnees.config import url_base
    from donnees.magasin import Magasin
    from indicateurs.calcul import calculer_indicateurs_operations
    from services.exports import COLONNES_EXPORT, exporter_operations, exporter_table

    magasin = Magasin(url_base(dossier_demo))
    operations, zones, financements = magasin.lire_operations(), magasin.lire_zones(), magasin.lire_financements()
    magasin.fermer()
    par_operation = calculer_indicateurs_operations(operations, zones, financements)
    csv = exporter_operations(par_operation, None, "csv").decode("utf-8-sig")
    assert len(csv.strip().splitlines()) == len(par_operation) + 1 and ";" in csv
    assert exporter_operations(par_operation, None, "xlsx")[:2] == b"PK"
    gpkg = exporter_operations(par_operation, operations, "gpkg")
    chemin = Path(dossier_demo).parent / "export_test.gpkg"
    chemin.write_bytes(gpkg)
    relue = gpd.read_file(chemin)
    assert len(relue) == len(par_operation) and set(COLONNES_EXPORT) <= set(relue.columns)
    with pytest.raises(ValueError, match="inconnu"):
        exporter_table(par_operation, "pdf")


def test_priorites_d_une_commune(dossier_demo, monkeypatch):
    from donnees.referentiel import lire_couche
    from services.priorites import lire_priorites_commune

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    code = lire_couche("communes", dossier_demo)["code_insee"].iloc[0]
    priorites = lire_priorites_commune(code, dossier_demo)
    assert priorites is not None and len(priorites) and "score_priorite" in priorites.columns
    assert lire_priorites_commune("99999", dossier_demo) is None


def test_cache_disque_des_modeles(tmp_path):
    import os

    from donnees import cache_modeles

    chemins = []
    for rang in range(5):
        chemin = cache_modeles.chemin_cache(tmp_path, "essai", f"cle{rang}")
        cache_modeles.ecrire_npz(chemin, valeurs=np.arange(rang + 1))
        os.utime(chemin, ns=(rang * 10**9, rang * 10**9))
        chemins.append(chemin)
    np.testing.assert_array_equal(cache_modeles.lire_npz(chemins[2])["valeurs"], np.arange(3))
    cache_modeles.purger_cache(cache_modeles.dossier_cache(tmp_path), "essai")
    assert sorted(p.name for p in cache_modeles.dossier_cache(tmp_path).glob("essai_*.npz")) == [
        "essai_cle2.npz", "essai_cle3.npz", "essai_cle4.npz"]
    chemins[4].write_bytes(b"abime")
    assert cache_modeles.lire_npz(chemins[4]) is None
    assert cache_modeles.lire_npz(tmp_path / "absent.npz") is None
    assert cache_modeles.signer_fichiers(tmp_path / "absent.npz") == "absent.npz:absent"


def test_cli_exporte_le_registre_comme_l_application(dossier_demo, tmp_path, capsys, monkeypatch):
    """`desimper operations exporter` écrit les mêmes octets que l'export de l'application sur le même registre."""
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from indicateurs.calcul import calculer_indicateurs_operations
    from indicateurs.parametres import lire_parametres
    from services.exports import exporter_operations, lire_noms_communes

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    sortie = tmp_path / "operations.csv"
    assert cli.main(["operations", "exporter", "--format", "csv", "--sortie", str(sortie),
                     "--dossier", str(dossier_demo)]) == 0
    assert "exportées" in capsys.readouterr().out
    magasin = Magasin(url_base(dossier_demo))
    operations, zones, financements = magasin.lire_operations(), magasin.lire_zones(), magasin.lire_financements()
    magasin.fermer()
    par_operation = calculer_indicateurs_operations(operations, zones, financements, lire_parametres())
    assert sortie.read_bytes() == exporter_operations(par_operation, operations, "csv",
                                                      lire_noms_communes(dossier_demo))
