"""Agrégats du registre calculés par la base (SQLite et PostgreSQL + PostGIS) : mêmes chiffres que le calcul
opération par opération dans pandas, pour chaque rôle, et rien de ce que le rôle ne voit pas."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from donnees.comptes import VISITEUR, Utilisateur
from donnees.config import NOM_BASE_SQLITE
from donnees.droits import filtrer_financements, filtrer_operations
from donnees.magasin import Magasin, table_estimation_site
from donnees.referentiel import lire_couche, lire_territoire
from indicateurs.agregats import calculer_rafraichissement_grains, coefficients_revetements
from indicateurs.calcul import (
    calculer_indicateurs_annees,
    calculer_indicateurs_communes,
    calculer_indicateurs_groupes,
    calculer_indicateurs_operations,
)
from indicateurs.communs import Filtres, masque_filtres
from indicateurs.finances import calculer_aides_par_financeur
from indicateurs.parametres import lire_parametres
from indicateurs.surfaces import calculer_surface_impermeable_communes
from services.indicateurs import estimer_rafraichissement_emprise
from services.magasin import cle_estimations_site, lire_agregats
from vues.cartes import ResumeOperations, agreger_operations, placer_cercles_indicateurs, preparer_points_operations

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
from grand_registre import construire_grand_registre  # noqa: E402

A, B = "34301", "34157"  # Sète, Mèze
ROLES = {
    "visiteur": VISITEUR,
    "referent": Utilisateur("ref@sete.fr", "Camille", "referent", frozenset({A})),
    "referent_deux": Utilisateur("ref@thau.fr", "Claude", "referent", frozenset({A, B})),
    "financeur": Utilisateur("f@eau.fr", "Farid", "financeur"),
    "administrateur": Utilisateur("admin@thau.fr", "Alice", "administrateur"),
}
FILTRES = [
    None,
    Filtres(statuts=("realisee",)),
    Filtres(annees=(2021, 2022, 2023), types=("cour_ecole", "espace_public", "voirie", "parking")),
    Filtres(validations=("validee", "a_valider"), communes=(A, B, "34003")),
]


def _diversifier(chemin: Path) -> None:
    """Cas rares rendus présents : emplacements approximatifs, surfaces déclarées (proches et lointaines), coûts
    inconnus, opération supprimée, opération sans date de fin."""
    with sqlite3.connect(chemin) as base:
        ids = [i for (i,) in base.execute("SELECT id FROM operation ORDER BY id")]
        base.execute(f"UPDATE operation SET localisation_approximative = 1 WHERE id IN ({ids[0]}, {ids[1]})")
        for rang, i in enumerate(ids[2:8]):
            base.execute("UPDATE operation SET surface_declaree_m2 = (SELECT SUM(surface_m2) FROM zone "
                         f"WHERE operation_id = {i}) * ? WHERE id = {i}", (1.02 if rang % 2 else 1.8,))
        base.execute(f"UPDATE operation SET surface_declaree_m2 = 120 WHERE id = {ids[0]}")
        base.execute(f"UPDATE operation SET cout_ht_eur = NULL WHERE id IN ({ids[8]}, {ids[9]}, {ids[10]})")
        base.execute(f"UPDATE operation SET supprimee = 1 WHERE id IN ({ids[11]}, {ids[30]})")
        base.execute(f"UPDATE operation SET date_fin_travaux = NULL, statut = 'programmee' WHERE id = {ids[12]}")
        # Modifiées hors du magasin (version inchangée) : les estimations copiées de la démo ne valent plus.
        base.execute("DELETE FROM estimation_site")


@pytest.fixture(scope="module")
def dossier(dossier_demo, tmp_path_factory) -> Path:
    copie = tmp_path_factory.mktemp("agregats") / "demo"
    construire_grand_registre(dossier_demo, copie, nombre=0)
    _diversifier(copie / NOM_BASE_SQLITE)
    return copie


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def magasin(request, dossier, tmp_path_factory):
    if request.param == "sqlite":
        m = Magasin(f"sqlite:///{(dossier / NOM_BASE_SQLITE).as_posix()}")
    else:
        url = request.getfixturevalue("fabrique_base_postgresql")("desimper_agregats")
        construire_grand_registre(dossier, tmp_path_factory.mktemp("agregats_pg"), nombre=0, url=url)
        m = Magasin(url)
    yield m
    m.fermer()


@pytest.fixture(scope="module")
def referentiel(dossier) -> dict:
    return {"communes": lire_couche("communes", dossier),
            "surfaces_impermeables": calculer_surface_impermeable_communes(lire_couche("occupation", dossier)),
            "objectifs": lire_couche("objectifs", dossier),
            "nouvelles_surfaces": lire_couche("nouvelles_surfaces", dossier),
            "parametres": lire_parametres(lire_territoire(dossier).get("parametres")).en_dict()}


def _registres(magasin: Magasin, utilisateur: Utilisateur, parametres: dict) -> tuple:
    """(opérations, zones, financements) visibles, lus en entier ; et les agrégats de la base pour ce rôle."""
    operations = filtrer_operations(utilisateur, magasin.lire_operations())
    zones = magasin.lire_zones()
    zones = zones[zones["operation_id"].isin(operations["id"]).to_numpy(bool)]
    financements = filtrer_financements(utilisateur, magasin.lire_financements(), operations)
    return (operations, zones, financements), lire_agregats(magasin, utilisateur, parametres)


def _egales(attendue: pd.DataFrame, obtenue: pd.DataFrame) -> None:
    assert list(attendue.columns) == list(obtenue.columns)
    assert len(attendue) == len(obtenue)
    pd.testing.assert_frame_equal(attendue.reset_index(drop=True), obtenue.reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9, atol=1e-6)
    assert attendue.attrs.get("annee_reference") == obtenue.attrs.get("annee_reference")


@pytest.mark.parametrize("role", ROLES)
def test_agregats_egaux_au_calcul_pandas(magasin, referentiel, role):
    p = referentiel["parametres"]
    (operations, zones, financements), registre = _registres(magasin, ROLES[role], p)
    assert len(operations) > 20
    for filtres in FILTRES:
        communes = [referentiel[c] for c in ("communes", "surfaces_impermeables", "objectifs", "nouvelles_surfaces")]
        _egales(calculer_indicateurs_communes(operations, zones, financements, *communes, p, filtres),
                calculer_indicateurs_communes(registre, None, None, *communes, p, filtres))
        annees = [referentiel[c] for c in ("communes", "objectifs", "nouvelles_surfaces")]
        _egales(calculer_indicateurs_annees(operations, zones, financements, *annees, p, filtres),
                calculer_indicateurs_annees(registre, None, None, *annees, p, filtres))
        for cle in ("statut", "type_site", "annee", "code_insee"):
            attendue = calculer_indicateurs_groupes(operations, zones, financements, cle, p, filtres)
            obtenue = calculer_indicateurs_groupes(registre, None, None, cle, p, filtres)
            _egales(attendue.sort_values(cle), obtenue.sort_values(cle))


@pytest.mark.parametrize("role", ["visiteur", "referent", "financeur"])
def test_aides_par_financeur_egales(magasin, referentiel, role):
    from indicateurs.agregats import calculer_aides_grains

    (operations, _zones, financements), registre = _registres(magasin, ROLES[role], referentiel["parametres"])
    for filtres in FILTRES:
        grains, aides = calculer_aides_grains(registre, filtres)
        attendue = calculer_aides_par_financeur(operations, financements, filtres)
        obtenue = calculer_aides_par_financeur(grains, aides, None)
        _egales(attendue, obtenue)


def test_agregats_ne_comptent_que_ce_que_le_role_voit(magasin, referentiel):
    """Public : ni coût ni aide, opérations validées seulement ; référent : coûts de ses communes seulement,
    les non validées des autres communes ne sont pas comptées ; supprimées comptées par personne."""
    p = referentiel["parametres"]
    _, public = _registres(magasin, VISITEUR, p)
    assert set(public.operations["validation"]) == {"validee"}
    assert public.operations["cout_total_ht"].eq(0).all() and public.operations["montant_aides"].eq(0).all()
    assert public.financeurs.empty and not public.revetements["cout_connu"].any()

    (operations, _, _), referent = _registres(magasin, ROLES["referent"], p)
    ailleurs = referent.operations[referent.operations["code_insee"] != A]
    assert set(ailleurs["validation"]) == {"validee"}
    assert ailleurs[["cout_total_ht", "montant_aides", "nombre_operations_cout_connu"]].eq(0).all().all()
    assert set(referent.financeurs["code_insee"]) <= {A}
    chez_lui = referent.operations[referent.operations["code_insee"] == A]
    assert chez_lui["cout_total_ht"].sum() > 0 and set(chez_lui["validation"]) > {"validee"}

    _, administrateur = _registres(magasin, ROLES["administrateur"], p)
    toutes = magasin.lire_operations()
    assert int(administrateur.operations["nombre_operations"].sum()) == len(toutes)
    assert int(referent.operations["nombre_operations"].sum()) == len(operations)
    assert np.isclose(administrateur.operations["cout_total_ht"].sum(), toutes["cout_ht_eur"].sum())


@pytest.mark.parametrize("role", ["visiteur", "referent", "administrateur"])
def test_rafraichissement_emprise_egal_au_calcul_par_operation(magasin, referentiel, role):
    """Estimations par site gardées dans le magasin puis sommées par la base : même rafraîchissement par commune
    et pour le bassin que l'estimation opération par opération."""
    p = referentiel["parametres"]
    (operations, zones, financements), registre = _registres(magasin, ROLES[role], p)
    assert registre.sites is not None and registre.sites["cellules"].sum() > 0
    communes = [referentiel[c] for c in ("communes", "surfaces_impermeables", "objectifs", "nouvelles_surfaces")]
    for filtres in FILTRES:
        table = calculer_indicateurs_communes(operations, zones, financements, *communes, p, filtres)
        codes = [c for c in table["territoire"] if c != "bassin"]
        attendue = estimer_rafraichissement_emprise(operations, zones, table, p, filtres)
        obtenue = calculer_rafraichissement_grains(registre, codes, filtres)
        pd.testing.assert_series_equal(attendue, obtenue, check_names=False, rtol=1e-9)
        assert attendue.notna().any()


def test_estimations_site_gardees_puis_recalculees_si_l_operation_change(magasin, referentiel):
    p = referentiel["parametres"]
    cle = cle_estimations_site(p)
    lire_agregats(magasin, ROLES["administrateur"], p)
    assert magasin.lister_estimations_a_faire(cle).empty  # toutes gardées : rien à recalculer
    with magasin._lire() as conn:
        gardees = conn.execute(table_estimation_site.select()).all()
    assert len(gardees) >= 20
    autre_cle = cle_estimations_site({**p, "r_mix_m": p["r_mix_m"] + 1})
    eligibles = magasin.lister_estimations_a_faire(autre_cle)  # toutes les opérations à estimer
    cible = int(eligibles["id"].iloc[0])
    assert cible in {int(g.operation_id) for g in gardees}
    actuelle = magasin.lire_operation(cible)
    arbres = int(actuelle["arbres_plantes"] or 0) + 1
    magasin.modifier_operation(cible, int(actuelle["version"]), {"arbres_plantes": arbres}, "admin@thau.fr")
    assert list(magasin.lister_estimations_a_faire(cle)["id"]) == [cible]
    assert not magasin.lister_estimations_a_faire(autre_cle).empty
    lire_agregats(magasin, ROLES["administrateur"], p)
    assert magasin.lister_estimations_a_faire(cle).empty


def test_revetement_inconnu_dans_la_base_signale_en_francais(dossier, tmp_path):
    """Une zone écrite hors du magasin avec un revêtement absent de revetements.csv : message français, pas de
    chiffre faux (les agrégats ne le comptent pas en silence)."""
    from donnees.erreurs import ErreurDonnees
    from indicateurs.agregats import RegistreAgrege, calculer_grains

    copie = tmp_path / NOM_BASE_SQLITE
    with sqlite3.connect(dossier / NOM_BASE_SQLITE) as source, sqlite3.connect(copie) as cible:
        source.backup(cible)
    with sqlite3.connect(copie) as base:
        base.execute("UPDATE zone SET revetement_apres = 'gazon_synthetique' WHERE id = (SELECT max(id) FROM zone)")
    magasin = Magasin(f"sqlite:///{copie.as_posix()}")
    try:
        p = lire_parametres().en_dict()
        with pytest.raises(ErreurDonnees, match="1 zone\\(s\\) de revêtement inconnu"):
            registre = RegistreAgrege(**magasin.agreger_registre(*coefficients_revetements()))
            calculer_grains(registre, p, None)
    finally:
        magasin.fermer()


@pytest.mark.parametrize("role", ["visiteur", "referent", "administrateur"])
def test_cercles_et_legende_des_cartes_lus_dans_les_agregats(magasin, referentiel, dossier, role):
    """Cartes du bassin à faible zoom (premier affichage) : cercles par commune et légende lus dans les agrégats de
    la base, mêmes nombres, surfaces et types présents que comptés sur les points des opérations visibles."""
    p = referentiel["parametres"]
    (operations, zones, financements), registre = _registres(magasin, ROLES[role], p)
    affichage = lire_couche("communes_affichage", dossier)
    communes = [referentiel[c] for c in ("communes", "surfaces_impermeables", "objectifs", "nouvelles_surfaces")]
    for filtres in FILTRES:
        table = calculer_indicateurs_communes(registre, None, None, *communes, p, filtres)
        surfaces = calculer_indicateurs_operations(operations, zones, financements, p, filtres)
        points = preparer_points_operations(operations.loc[masque_filtres(operations, filtres)],
                                            surfaces.set_index("operation_id")["surface_desimpermeabilisee"])
        assert len(points) > 0
        attendus = agreger_operations(points, affichage).sort_values("code_insee", ignore_index=True)
        obtenus = placer_cercles_indicateurs(table, affichage).sort_values("code_insee", ignore_index=True)
        pd.testing.assert_frame_equal(attendus, obtenus, check_dtype=False, rtol=1e-9)
        for cle in ("type_site", "statut"):
            groupes = calculer_indicateurs_groupes(registre, None, None, cle, p, filtres)
            attendu = ResumeOperations.depuis_points(points, cle)
            obtenu = ResumeOperations.depuis_indicateurs(table, groupes, cle)
            assert obtenu.presents == attendu.presents
            pd.testing.assert_series_equal(attendu.comptes.sort_index(), obtenu.comptes.sort_index(),
                                           check_names=False, check_dtype=False, check_index_type=False)
