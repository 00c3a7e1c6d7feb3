"""Page « Scénarios » (AppTest) : réservée aux connectés ; le syndicat crée un scénario, ajoute des parcelles du
potentiel, le partage et compare son effet aux seules opérations programmées ; le référent donne l'avis de sa
commune et fait d'un site une opération programmée ; le financeur lit sans écrire."""

from __future__ import annotations

import json

from outils import lancer_appli

from donnees.comptes import creer_compte
from donnees.config import url_base
from donnees.magasin import Magasin

MOT_DE_PASSE = "une phrase de passe solide"


def _comptes(dossier):
    magasin = Magasin(url_base(dossier))
    magasin.creer_tables()
    comptes = {"admin": creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [], MOT_DE_PASSE,
                                     auteur="test"),
               "ref": creer_compte(magasin, "ref@sete.fr", "Rémi Référent", "referent", ["34301"], MOT_DE_PASSE,
                                   auteur="test"),
               "fin": creer_compte(magasin, "fin@agence.fr", "Fanny Financeuse", "financeur", [], MOT_DE_PASSE,
                                   auteur="test")}
    return magasin, comptes


def test_page_scenarios_de_bout_en_bout(monkeypatch, dossier_demo_copie):
    magasin, comptes = _comptes(dossier_demo_copie)
    public = lancer_appli(monkeypatch, dossier_demo_copie)
    public.switch_page("pages/scenarios.py").run()
    assert not public.exception and any("connectez-vous" in i.value for i in public.info)

    appli = lancer_appli(monkeypatch, dossier_demo_copie, comptes["admin"])
    appli.switch_page("pages/scenarios.py").run()
    assert not appli.exception, appli.exception
    appli.text_input[0].input("Parkings 2030")
    next(b for b in appli.button if b.label == "Créer le scénario").click().run()
    assert not appli.exception, appli.exception
    assert any("« Parkings 2030 » créé" in s.value for s in appli.success)
    scenario = int(magasin.lire_scenarios()["id"].iloc[0])
    appli.session_state["scenario_section"] = "Ajouter des sites"
    appli.query_params["code"] = "34301"
    appli.run()
    assert not appli.exception, appli.exception
    candidates = appli.dataframe[0].value
    assert len(candidates) > 3 and {"Parcelle", "Potentiel", "Motifs"} <= set(candidates.columns)
    # Sélection de lignes du tableau : l'état du widget porte les rangs cochés.
    appli.session_state[f"scenario_candidates_{scenario}_34301"] = {"selection": {"rows": [0, 1, 2], "columns": []}}
    appli.run()
    bouton = next(b for b in appli.button if b.label.startswith("Ajouter 3 parcelle"))
    bouton.click().run()
    assert not appli.exception, appli.exception
    assert any("3 site(s) ajouté(s)" in s.value for s in appli.success), [e.value for e in appli.error]
    assert len(magasin.lire_sites(scenario)) == 3
    appli.session_state["scenario_mode_ajout"] = "Zones dessinées"  # carte de dessin, rien à ajouter encore
    appli.run()
    assert not appli.exception, appli.exception
    assert "Draw" in appli.get("component_instance")[0].proto.json_args
    assert next(b for b in appli.button if b.label.startswith("Ajouter 0 zone")).disabled
    appli.toggle[0].set_value(True).run()
    assert magasin.lire_scenario(scenario)["partage"]
    appli.session_state["scenario_section"] = "Effet et comparaison"
    appli.run()
    next(b for b in appli.button if b.label == "Calculer et comparer").click().run()
    assert not appli.exception, appli.exception
    comparaison = appli.dataframe[0].value
    assert list(comparaison.columns) == ["Chiffre", "Opérations programmées seules", "Parkings 2030"]
    assert "Ratio de compensation SDAGE projeté (%)" in set(comparaison["Chiffre"])
    figure = json.loads(appli.get("plotly_chart")[0].proto.spec)
    noms_courbes = {trace["name"] for trace in figure["data"]}
    assert {"Objectif", "Opérations programmées seules", "Parkings 2030"} <= noms_courbes

    referent = lancer_appli(monkeypatch, dossier_demo_copie, comptes["ref"])
    referent.switch_page("pages/scenarios.py").run()
    assert not referent.exception, referent.exception
    assert "Ajouter des sites" not in referent.get("button_group")[0].proto.options.__str__()
    carte = referent.get("component_instance")[0].proto.json_args
    assert "desimper-site-scenario" in carte
    referent.radio[0].set_value("faisable")
    referent.text_area[0].input("Inscrit au budget 2029")
    next(b for b in referent.button if b.label == "Enregistrer l'avis").click().run()
    assert not referent.exception, referent.exception
    assert any("Avis enregistré" in s.value for s in referent.success), [e.value for e in referent.error]
    referent.text_input[0].input("Parking du port désimperméabilisé")
    next(b for b in referent.button if b.label == "Créer l'opération programmée").click().run()
    assert not referent.exception, referent.exception
    assert any("Opération programmée n°" in s.value for s in referent.success), [e.value for e in referent.error]
    site = magasin.lire_sites(scenario).sort_values("site_id").iloc[0]
    operation = magasin.lire_operation(int(site["operation_id"]))
    assert operation["statut"] == "programmee" and operation["nom"] == "Parking du port désimperméabilisé"

    financeur = lancer_appli(monkeypatch, dossier_demo_copie, comptes["fin"])
    financeur.switch_page("pages/scenarios.py").run()
    assert not financeur.exception, financeur.exception
    assert not any(b.label in ("Enregistrer l'avis", "Créer l'opération programmée", "Créer le scénario")
                   for b in financeur.button)
    magasin.fermer()
