"""Scénarios prospectifs (issue 15, partie 2) : sites tirés du potentiel, droits et co-construction, conversion en
opération programmée, effet calculé avec les modèles du registre (égal au calcul complet), saisies refusées sans
rien écrire, ligne de commande."""

from __future__ import annotations

import pandas as pd
import pytest

import cli
from donnees.comptes import authentifier, creer_compte
from donnees.config import url_base
from donnees.droits import MagasinProtege
from donnees.droits.politique import ErreurDroits
from donnees.erreurs import ErreurDonnees
from donnees.magasin import Magasin

MOT_DE_PASSE = "une phrase de passe solide"
SETE, MEZE = "34301", "34157"


@pytest.fixture
def magasin(dossier_demo_copie, monkeypatch):
    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier_demo_copie))
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    creer_compte(magasin, "admin@bassin.fr", "Admin", "administrateur", [], MOT_DE_PASSE, auteur="test")
    creer_compte(magasin, "ref@sete.fr", "Réf Sète", "referent", [SETE], MOT_DE_PASSE, auteur="test")
    creer_compte(magasin, "ref@meze.fr", "Réf Mèze", "referent", [MEZE], MOT_DE_PASSE, auteur="test")
    creer_compte(magasin, "fin@agence.fr", "Financeur", "financeur", [], MOT_DE_PASSE, auteur="test")
    yield magasin
    magasin.fermer()


def _facade(magasin, email=None):
    if email is None:
        return MagasinProtege(magasin)
    return MagasinProtege(magasin, authentifier(magasin, email, MOT_DE_PASSE))


def _meilleures_parcelles(dossier, code: str, nombre: int) -> list[str]:
    from services.potentiel import calculer_potentiel_commune

    potentiel = calculer_potentiel_commune(code, dossier)
    retenues = potentiel[potentiel["classe_potentiel"].isin(["fort", "moyen"])]
    return retenues.sort_values("score_potentiel", ascending=False)["id"].head(nombre).tolist()


def _sites(dossier, code: str, nombre: int, annee: int = 2030) -> list[dict]:
    from services.scenarios import construire_sites_parcelles

    return construire_sites_parcelles(code, _meilleures_parcelles(dossier, code, nombre), "pelouse", annee,
                                      "parking", dossier)


def test_sites_tires_des_parcelles_du_potentiel(dossier_demo_copie):
    """Géométrie d'un site = partie imperméable non bâtie de la parcelle : sa surface est celle des priorités ;
    revêtement avant imperméable ; une parcelle disparue du cadastre est nommée."""
    import numpy as np

    from donnees.geometrie import aires_lambert93
    from services.priorites import lire_priorites_commune
    from services.scenarios import construire_sites_parcelles

    sites = _sites(dossier_demo_copie, SETE, 5)
    priorites = lire_priorites_commune(SETE, dossier_demo_copie).set_index("id")
    surfaces = aires_lambert93(np.array([s["geometrie"] for s in sites], dtype=object))
    attendues = priorites.loc[[s["parcelle_id"] for s in sites], "surface_impermeable_non_batie_parcelle"]
    assert surfaces == pytest.approx(attendues.to_numpy(float), rel=1e-3)
    assert {s["revetement_avant"] for s in sites} <= {"enrobe", "beton"}
    with pytest.raises(ErreurDonnees, match=r"34301000ZZ9999 absente.*cadastre réimporté"):
        construire_sites_parcelles(SETE, ["34301000ZZ9999"], "pelouse", 2030, "parking", dossier_demo_copie)


def test_parcelle_disparue_apres_un_reimport_du_cadastre(magasin, dossier_demo_copie):
    """Un site garde son contour quand sa parcelle disparaît du cadastre ; la page le signale, site et parcelle
    nommés ; l'effet se calcule toujours."""
    from services.scenarios import relever_parcelles_disparues

    admin = _facade(magasin, "admin@bassin.fr")
    scenario = admin.creer_scenario("Réimport")
    sites = _sites(dossier_demo_copie, SETE, 2)
    sites[1]["parcelle_id"] = "34301000ZZ0001"  # parcelle renumérotée depuis
    ids = admin.ajouter_sites(scenario, sites)
    assert relever_parcelles_disparues(magasin.lire_sites(scenario), dossier_demo_copie) == [
        (ids[1], "34301000ZZ0001")]


def test_droits_co_construction_et_conversion(magasin, dossier_demo_copie):
    """Le syndicat crée et partage ; le référent lit les scénarios partagés, commente les sites de sa commune
    seulement et convertit un site en opération programmée liée au site ; le financeur lit sans écrire ; le
    public ne voit rien. Chaque écriture a sa ligne de journal."""
    admin, ref_sete, ref_meze = (_facade(magasin, e) for e in ("admin@bassin.fr", "ref@sete.fr", "ref@meze.fr"))
    financeur, public = _facade(magasin, "fin@agence.fr"), _facade(magasin)
    scenario = admin.creer_scenario("Parkings 2030", "Parkings à fort potentiel")
    ids = admin.ajouter_sites(scenario, _sites(dossier_demo_copie, SETE, 2) + _sites(dossier_demo_copie, MEZE, 1))
    with pytest.raises(ErreurDroits, match="réservé aux administrateurs"):
        ref_sete.creer_scenario("Le mien")
    with pytest.raises(ErreurDroits):
        public.lire_scenarios()
    assert ref_sete.lire_scenarios().empty  # pas encore partagé
    with pytest.raises(ErreurDroits, match="n'est pas partagé"):
        ref_sete.donner_avis(ids[0], "faisable")
    assert len(financeur.lire_sites_scenario(scenario)) == 3
    admin.modifier_scenario(scenario, 1, {"partage": True})
    assert ref_sete.lire_scenarios()["nom"].tolist() == ["Parkings 2030"]
    ref_sete.donner_avis(ids[0], "faisable", "Inscrit au budget 2029")
    ref_sete.donner_avis(ids[1], "deja_prevu")
    with pytest.raises(ErreurDroits, match="Mèze"):
        ref_sete.donner_avis(ids[2], "faisable")  # site de Mèze
    with pytest.raises(ErreurDroits):
        financeur.donner_avis(ids[0], "faisable")
    with pytest.raises(ErreurDonnees, match="dites pourquoi"):
        ref_meze.donner_avis(ids[2], "non_faisable")
    ref_meze.donner_avis(ids[2], "non_faisable", "Réseaux sous la chaussée")
    avis = admin.lire_avis_scenario(scenario)
    assert avis["avis"].tolist() == ["faisable", "deja_prevu", "non_faisable"]
    with pytest.raises(ErreurDroits):
        ref_meze.convertir_site(ids[0])  # site de Sète
    operation_id = ref_sete.convertir_site(ids[0], {"nom": "Parking du port désimperméabilisé"})
    operation = magasin.lire_operation(operation_id)
    assert operation["statut"] == "programmee" and operation["validation"] == "a_valider"
    assert operation["code_insee"] == SETE and operation["nom"] == "Parking du port désimperméabilisé"
    assert operation["zones"][0]["revetement_apres"] == "pelouse"
    site = magasin.lire_site(ids[0])
    assert site["operation_id"] == operation_id and site["avis"] == "accepte"
    with pytest.raises(ErreurDonnees, match="déjà devenu l'opération"):
        admin.convertir_site(ids[0])
    with pytest.raises(ErreurDonnees, match="déjà devenu l'opération"):
        admin.retirer_site(ids[0])
    journal = magasin.lire_journal()
    cibles = journal["table_cible"].tolist()
    assert cibles.count("site_scenario") == 3 + 3 + 1 and "scenario" in cibles and "operation" in cibles
    assert journal.iloc[-1]["auteur"] == "ref@sete.fr"


def test_saisies_refusees_sans_rien_ecrire(magasin, dossier_demo_copie):
    """Un changement qui imperméabilise, un site hors de sa commune ou hors du territoire, un nom en double, un
    scénario vide à calculer : message français, rien d'écrit."""
    from services.scenarios import calculer_effet_scenario, preparer_contexte

    admin = _facade(magasin, "admin@bassin.fr")
    scenario = admin.creer_scenario("Cours d'école")
    with pytest.raises(ErreurDonnees, match="s'appelle déjà « cours d'école »"):
        admin.creer_scenario("cours d'école")
    bons = _sites(dossier_demo_copie, SETE, 2)
    scelle = {**bons[1], "revetement_avant": "pelouse", "revetement_apres": "enrobe"}
    with pytest.raises(ErreurDonnees, match="Site 2 : le revêtement après travaux « Enrobé bitumineux » est "
                                            "imperméable : ce changement imperméabilise"):
        admin.ajouter_sites(scenario, [bons[0], scelle])
    deja_permeable = {**bons[1], "revetement_avant": "stabilise"}
    with pytest.raises(ErreurDonnees, match="déjà perméable"):
        admin.ajouter_sites(scenario, [deja_permeable])
    chez_le_voisin = {**bons[0], "code_insee": MEZE}
    with pytest.raises(ErreurDonnees, match="Site 1"):
        admin.ajouter_sites(scenario, [chez_le_voisin])
    hors_territoire = {**bons[0], "code_insee": "75056"}
    with pytest.raises(ErreurDonnees, match="pas du territoire"):
        admin.ajouter_sites(scenario, [hors_territoire])
    with pytest.raises(ErreurDonnees, match="aucun site"):
        admin.ajouter_sites(scenario, [])
    assert magasin.lire_sites(scenario).empty
    with pytest.raises(ErreurDonnees, match="vide : ajoutez des sites"):
        calculer_effet_scenario("Cours d'école", magasin.lire_sites(scenario), preparer_contexte(dossier_demo_copie))
    assert not (magasin.lire_journal()["table_cible"] == "site_scenario").any()


def test_effet_egal_aux_modeles_recalcules_depuis_zero(magasin, dossier_demo_copie):
    """L'effet d'un scénario (mise à jour fenêtrée du dernier résultat) est celui des modèles recalculés en entier
    sur l'occupation du sol modifiée par ses sites ; surfaces et volumes sont ceux des formules du registre ; le
    coût est la médiane du registre pour la base annoncée."""
    import numpy as np

    from indicateurs.chaleur import ParametresChaleur, calculer_chaleur_territoire
    from indicateurs.eau_grille import calculer_eau_territoire
    from services.scenarios import (
        _operations_sites,
        calculer_effet_scenario,
        calculer_reference,
        comparer_effets,
        preparer_contexte,
    )

    admin = _facade(magasin, "admin@bassin.fr")
    premier, second = admin.creer_scenario("Premier"), admin.creer_scenario("Second")
    admin.ajouter_sites(premier, _sites(dossier_demo_copie, SETE, 3))
    admin.ajouter_sites(second, _sites(dossier_demo_copie, SETE, 8, 2028) + _sites(dossier_demo_copie, MEZE, 4))
    contexte = preparer_contexte(dossier_demo_copie)
    reference = calculer_reference(contexte)
    calculer_effet_scenario("Premier", magasin.lire_sites(premier), contexte)  # laisse un état en mémoire
    sites = magasin.lire_sites(second)
    effet = calculer_effet_scenario("Second", sites, contexte)

    _, zones_sites = _operations_sites(sites)
    zones = pd.concat([contexte.zones_modeles, zones_sites], ignore_index=True)
    import geopandas as gpd

    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=4326)
    occupation = contexte.modeles.occupation
    complet = calculer_chaleur_territoire(occupation, zones, ParametresChaleur.depuis_parametres(contexte.parametres),
                                          occupation.meta["cle"])
    pd.testing.assert_frame_equal(effet.modele_chaleur.sort_values(["code_insee", "scenario"]).reset_index(drop=True),
                                  complet.communes.sort_values(["code_insee", "scenario"]).reset_index(drop=True),
                                  check_exact=False, atol=1e-9, check_dtype=False)
    eau = calculer_eau_territoire(occupation, zones, contexte.parametres)
    pd.testing.assert_frame_equal(effet.modele_eau.sort_values(["code_insee", "scenario"]).reset_index(drop=True),
                                  eau.sort_values(["code_insee", "scenario"]).reset_index(drop=True),
                                  check_exact=False, atol=1e-6, check_dtype=False)
    # Sites : surfaces du registre (Lambert-93), volume = formule par zone ; chiffres ajoutés à la référence.
    assert effet.chiffres["nombre_sites"] == 12
    assert effet.sites["surface_desimpermeabilisee"].to_numpy() == pytest.approx(sites["surface_m2"].to_numpy())
    assert effet.chiffres["surface_ajoutee"] == pytest.approx(reference.chiffres["surface_ajoutee"]
                                                              + sites["surface_m2"].sum())
    assert effet.chiffres["delta_ilot_chaleur"] <= reference.chiffres["delta_ilot_chaleur"]
    assert effet.chiffres["delta_volume_grille"] > reference.chiffres["delta_volume_grille"]
    assert effet.chiffres["ratio_sdage"] > reference.chiffres["ratio_sdage"]
    # Coût : médiane × surface, fourchette des quartiles, base et effectif annoncés.
    ligne = effet.sites.iloc[0]
    assert ligne["cout_bas"] <= ligne["cout_estime"] <= ligne["cout_haut"]
    assert ligne["cout_estime"] == pytest.approx(ligne["cout_m2_median"] * sites["surface_m2"].iloc[0])
    assert ligne["effectif_cout"] >= 5 and ligne["base_cout"] in ("type_revetement", "type", "registre")
    comparaison = comparer_effets([reference, effet])
    assert list(comparaison.columns) == ["Chiffre", "Opérations programmées seules", "Second"]
    assert not comparaison.isin(["nan", "NaN"]).any().any() and np.all(comparaison["Second"].str.len() > 0)


def test_ligne_de_commande(magasin, dossier_demo_copie, capsys, tmp_path):
    admin = _facade(magasin, "admin@bassin.fr")
    scenario = admin.creer_scenario("Parkings")
    admin.ajouter_sites(scenario, _sites(dossier_demo_copie, SETE, 2))
    dossier = ["--dossier", str(dossier_demo_copie)]
    assert cli.main(["scenario", "lister", *dossier]) == 0
    assert "Parkings" in capsys.readouterr().out
    assert cli.main(["scenario", "calculer", str(scenario), *dossier]) == 0
    sortie = capsys.readouterr().out
    assert "Opérations programmées seules" in sortie and "Ratio de compensation SDAGE projeté" in sortie
    fichier = tmp_path / "parkings.csv"
    assert cli.main(["scenario", "exporter", str(scenario), "--sortie", str(fichier), *dossier]) == 0
    lignes = fichier.read_text(encoding="utf-8-sig").splitlines()
    assert len(lignes) == 3 and lignes[0].startswith("site_id;code_insee;parcelle_id")
    assert cli.main(["scenario", "calculer", "999", *dossier]) == 2
    assert "introuvable" in capsys.readouterr().err
