"""Playwright + Chromium : scénario prospectif de bout en bout (issue 15). Le syndicat crée un scénario, y ajoute
des parcelles cochées sur le potentiel de Sète, le partage et le compare aux seules opérations programmées ; le
référent de Sète donne l'avis de sa commune sur un site et en fait une opération programmée du registre."""

from pathlib import Path

import pytest

from donnees.comptes import creer_compte
from donnees.config import url_base
from donnees.magasin import Magasin
from parcours import attendre_calme
from test_pages_navigateur import attendre_application
from test_saisie_navigateur import MOT_DE_PASSE, _se_connecter

SORTIES = Path(__file__).resolve().parents[1] / "sorties"
HAUTEUR_LIGNE_PX = 35  # lignes et en-tête du tableau de Streamlit (glide-data-grid)

pytestmark = pytest.mark.navigateur


def _cocher_lignes(page, nombre: int) -> None:
    """Coche les ``nombre`` premières lignes du premier tableau (colonne de sélection à gauche)."""
    grille = page.locator("[data-testid='stDataFrame']").first
    grille.wait_for(timeout=60_000)
    boite = grille.bounding_box()
    for rang in range(nombre):
        page.mouse.click(boite["x"] + 18, boite["y"] + HAUTEUR_LIGNE_PX * (rang + 1) + HAUTEUR_LIGNE_PX / 2)
        page.wait_for_timeout(400)


def _ouvrir(navigateur, url: str, email: str, nom: str):
    contexte = navigateur.new_context(viewport={"width": 1440, "height": 1100}, locale="fr-FR")
    page = contexte.new_page()
    erreurs: list[str] = []
    page.on("pageerror", lambda exc: erreurs.append(str(exc)))
    _se_connecter(page, url, email, nom)
    return contexte, page, erreurs


def test_scenario_construit_compare_commente_et_converti(navigateur, demarrer_serveur, dossier_demo_copie):
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    creer_compte(magasin, "admin@bassin.fr", "Dominique Syndicat", "administrateur", [], MOT_DE_PASSE, auteur="test")
    creer_compte(magasin, "ref@sete.fr", "Camille Référente", "referent", ["34301"], MOT_DE_PASSE, auteur="test")
    url = demarrer_serveur(dossier_demo_copie)
    SORTIES.mkdir(parents=True, exist_ok=True)

    contexte, page, erreurs = _ouvrir(navigateur, url, "admin@bassin.fr", "Dominique Syndicat")
    try:
        page.goto(url + "/scenarios?code=34301")
        attendre_application(page, "Scénarios")
        attendre_calme(page)  # un clic pendant une relance de la page est perdu
        page.get_by_text("Nouveau scénario").click()
        nom = page.get_by_label("Nom du scénario")
        nom.fill("Parkings de Sète 2030")
        for _ in range(3):  # formulaire vidé à l'envoi : bouton recliqué seulement si le clic a été perdu
            page.get_by_role("button", name="Créer le scénario").click()
            try:
                page.get_by_text("« Parkings de Sète 2030 » créé").wait_for(timeout=30_000)
                break
            except Exception:  # noqa: BLE001 - relance en cours ou clic perdu
                if nom.count() and nom.input_value() != "Parkings de Sète 2030":
                    break  # envoyé : le message viendra
        page.get_by_text("« Parkings de Sète 2030 » créé").wait_for(timeout=60_000)
        assert len(magasin.lire_scenarios()) == 1
        principal = page.locator("[data-testid='stMain']")
        principal.get_by_text("Ajouter des sites", exact=True).click()
        attendre_application(page, "Scénarios")
        page.get_by_text("qui ne sont pas déjà dans le scénario").wait_for(timeout=90_000)
        _cocher_lignes(page, 2)
        page.get_by_role("button", name="Ajouter 2 parcelle(s) au scénario").click()
        page.get_by_text("2 site(s) ajouté(s) au scénario").wait_for(timeout=90_000)
        page.get_by_text("Partager avec les communes concernées").click()
        page.get_by_text("Scénario partagé avec les communes concernées").wait_for(timeout=60_000)
        principal.get_by_text("Effet et comparaison", exact=True).click()
        attendre_application(page, "Scénarios")
        page.get_by_role("button", name="Calculer et comparer").click()
        page.get_by_text("effet et coût estimé").wait_for(timeout=180_000)
        page.screenshot(path=str(SORTIES / "scenario_comparaison.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        assert not erreurs, erreurs
    except Exception:
        page.screenshot(path=str(SORTIES / "scenario_echec_syndicat.png"), full_page=True)
        raise
    finally:
        contexte.close()

    scenario = int(magasin.lire_scenarios()["id"].iloc[0])
    assert len(magasin.lire_sites(scenario)) == 2
    contexte, page, erreurs = _ouvrir(navigateur, url, "ref@sete.fr", "Camille Référente")
    try:
        page.goto(url + "/scenarios")
        attendre_application(page, "Scénarios")
        carte = page.frame_locator("iframe[title*='streamlit_folium']").first
        carte.locator("path.desimper-site-scenario").first.wait_for(state="attached", timeout=60_000)
        page.get_by_text("faisable", exact=True).first.click()
        page.get_by_label("Commentaire (obligatoire si non faisable : foncier, réseaux, usage…)").fill(
            "Inscrit au budget 2029")
        page.get_by_role("button", name="Enregistrer l'avis").click()
        page.get_by_text("Avis enregistré sur le site").wait_for(timeout=60_000)
        page.get_by_label("Nom de l'opération").fill("Parking du port désimperméabilisé")
        page.get_by_role("button", name="Créer l'opération programmée").click()
        page.get_by_text("Opération programmée n°").wait_for(timeout=60_000)
        page.screenshot(path=str(SORTIES / "scenario_referent.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        assert not erreurs, erreurs
    except Exception:
        page.screenshot(path=str(SORTIES / "scenario_echec_referent.png"), full_page=True)
        raise
    finally:
        contexte.close()
    sites = magasin.lire_sites(scenario)
    convertis = sites[sites["operation_id"].notna()]
    assert len(convertis) == 1
    operation = magasin.lire_operation(int(convertis["operation_id"].iloc[0]))
    assert operation["statut"] == "programmee" and operation["nom"] == "Parking du port désimperméabilisé"
    assert magasin.lire_avis(scenario)["commentaire"].tolist() == ["Inscrit au budget 2029"]
    magasin.fermer()
