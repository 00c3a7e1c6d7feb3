"""Cartes et figures mises en cache entre sessions (pages/vues_en_cache.py) : même envoi que st_folium, même
figure, et une carte jamais partagée entre deux droits de lecture différents."""

import re

import pandas as pd
import pytest
import streamlit_folium

from donnees.config import url_base
from donnees.magasin import Magasin
from donnees.referentiel import lire_couche
from outils import lancer_appli
from pages.vues_en_cache import _carte_preparee, afficher_carte, construire_figure, est_partagee, preparer_carte
from vues.cartes import Choroplethe, construire_carte_bassin
from vues.figures import figure_barres, habiller_figure

IDENTIFIANT_FOLIUM = re.compile(r"[0-9a-f]{32}")


def _normaliser(valeur):
    """Identifiants aléatoires de folium (uuid) remplacés : deux constructions de la même carte sont égales."""
    if isinstance(valeur, str):
        return IDENTIFIANT_FOLIUM.sub("ID", valeur)
    if isinstance(valeur, dict):
        return {cle: _normaliser(v) for cle, v in valeur.items()}
    if isinstance(valeur, list):
        return [_normaliser(v) for v in valeur]
    return valeur


@pytest.fixture(scope="module")
def carte_bassin(dossier_demo):
    communes = lire_couche("communes_affichage", dossier_demo)
    magasin = Magasin(url_base(dossier_demo))
    try:
        operations = magasin.lire_operations()
    finally:
        magasin.fermer()
    valeurs = pd.Series(range(len(communes)), index=communes["code_insee"], dtype=float)
    return lambda: construire_carte_bassin(communes, operations, choroplethe=Choroplethe(valeurs, "Essai", "m²"))


def test_carte_preparee_envoie_ce_que_st_folium_envoie(carte_bassin, monkeypatch):
    envois = []
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **arguments: envois.append(arguments))
    streamlit_folium.st_folium(carte_bassin(), height=560, use_container_width=True, returned_objects=[],
                               key="carte_bassin")
    _carte_preparee.clear()
    afficher_carte(("essai",), carte_bassin, key="carte_bassin", height=560, returned_objects=[])
    attendu, obtenu = envois
    assert set(obtenu) == set(attendu)
    for nom in attendu:
        if nom != "on_change":
            assert _normaliser(obtenu[nom]) == _normaliser(attendu[nom]), nom
    assert len(attendu["script"]) > 10_000 and attendu["css_links"] and attendu["js_links"]
    _carte_preparee.clear()


def test_carte_construite_une_fois_par_cle(carte_bassin, monkeypatch):
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **arguments: arguments)
    constructions = []

    def construire():
        constructions.append(1)
        return carte_bassin()

    _carte_preparee.clear()
    premiere = afficher_carte(("essai", "administrateur"), construire, key="k", height=400, returned_objects=[])
    seconde = afficher_carte(("essai", "administrateur"), construire, key="k", height=400, returned_objects=[])
    assert len(constructions) == 1 and premiere["script"] is seconde["script"]
    assert premiere["key"] == seconde["key"]  # clé stable du composant : le navigateur garde la carte
    afficher_carte(("essai", "public"), construire, key="k", height=400, returned_objects=[])
    assert len(constructions) == 2  # autre droit de lecture : autre carte
    _carte_preparee.clear()
    assert preparer_carte(carte_bassin())["bounds"]["_southWest"]["lat"] < 44


def test_figure_partagee_identique_et_habillee():
    table = pd.DataFrame({"nom": ["Sète", "Mèze"], "valeur": [1200.5, 300.0]})
    figure = construire_figure(figure_barres, table, "nom", "valeur", "Surface (m²)", horizontal=True, unite="m²")
    assert est_partagee(figure)
    assert construire_figure(figure_barres, table.copy(), "nom", "valeur", "Surface (m²)", horizontal=True,
                             unite="m²") is figure  # même contenu : même figure
    autre = construire_figure(figure_barres, table.assign(valeur=[1.0, 2.0]), "nom", "valeur", "Surface (m²)",
                              horizontal=True, unite="m²")
    assert autre is not figure
    directe = habiller_figure(figure_barres(table, "nom", "valeur", "Surface (m²)", horizontal=True, unite="m²"))
    assert figure.to_json() == directe.to_json()


def test_pages_aux_cartes_en_cache_sans_erreur(monkeypatch, dossier_demo_copie):
    """Deux sessions successives (la seconde sert les cartes du cache) affichent la même carte."""
    envois = []
    for _ in range(2):
        appli = lancer_appli(monkeypatch, dossier_demo_copie)
        assert not appli.exception
        composants = appli.get("component_instance")
        assert len(composants) == 1
        envois.append(composants[0].proto.json_args)
    assert envois[0] == envois[1]


def test_carte_en_cache_jamais_partagee_entre_droits(monkeypatch, dossier_demo_copie):
    """Une session administrateur remplit le cache de la carte du bassin ; une session publique ouverte ensuite
    reçoit la carte publique (opérations validées seules), identique à celle d'une session publique seule."""
    from donnees.comptes import creer_compte

    magasin = Magasin(url_base(dossier_demo_copie))
    try:
        administrateur = creer_compte(magasin, "admin.cache@bassin.fr", "Admin Cache", "administrateur", [],
                                      "une phrase de passe solide", auteur="test")
        non_validees = magasin.lire_operations()["validation"].ne("validee").sum()
    finally:
        magasin.fermer()
    assert non_validees > 0

    def carte(utilisateur=None) -> str:
        appli = lancer_appli(monkeypatch, dossier_demo_copie, utilisateur)
        assert not appli.exception
        return appli.get("component_instance")[0].proto.json_args

    publique = carte()
    _carte_preparee.clear()
    connectee = carte(administrateur)
    apres_connectee = carte()
    assert connectee != apres_connectee
    assert _normaliser(apres_connectee) == _normaliser(publique)
