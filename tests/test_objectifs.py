"""Objectifs de désimperméabilisation : réservés à l'administrateur, validés, écrits d'un coup, journalisés."""

import pandas as pd
import pytest

from donnees.comptes import creer_compte
from donnees.config import url_base
from donnees.droits import MagasinProtege
from donnees.magasin import Magasin
from donnees.referentiel import chemin_couche, lire_couche
from donnees.erreurs import ErreurDonnees

MOT_DE_PASSE = "une phrase de passe solide"


@pytest.fixture
def magasin(dossier_demo_copie):
    magasin = Magasin(url_base(dossier_demo_copie))
    creer_compte(magasin, "admin@bassin.fr", "Admin", "administrateur", [], MOT_DE_PASSE, auteur="test")
    creer_compte(magasin, "ref@sete.fr", "Réf", "referent", ["34301"], MOT_DE_PASSE, auteur="test")
    yield magasin
    magasin.fermer()


def _facade(magasin, email):
    from donnees.comptes import authentifier

    return MagasinProtege(magasin, authentifier(magasin, email, MOT_DE_PASSE))


def test_administrateur_remplace_les_objectifs_et_le_journal_le_dit(magasin, dossier_demo_copie):
    avant = lire_couche("objectifs", dossier_demo_copie)
    nouveaux = pd.concat([avant, pd.DataFrame({"territoire": ["34301"], "annee": [2031], "surface_m2": [5000.0]})])
    diff = _facade(magasin, "admin@bassin.fr").ecrire_objectifs(nouveaux, dossier_demo_copie)
    assert diff == {"34301 2031": [None, 5000.0]}
    relus = lire_couche("objectifs", dossier_demo_copie)
    assert len(relus) == len(avant) + 1
    journal = magasin.lire_journal()
    derniere = journal.iloc[-1]
    assert derniere["table_cible"] == "objectifs" and derniere["auteur"] == "admin@bassin.fr"


@pytest.mark.parametrize("table, motif", [
    (pd.DataFrame({"territoire": ["99999"], "annee": [2030], "surface_m2": [1.0]}),
     r"territoire\(s\) inconnu\(s\) 99999"),
    (pd.DataFrame({"territoire": ["bassin"], "annee": [2030], "surface_m2": [-5.0]}), "surface_m2"),
    (pd.DataFrame({"territoire": ["bassin", "bassin"], "annee": [2030, 2030], "surface_m2": [1.0, 2.0]}), "territoire"),
])
def test_objectifs_fautifs_refuses_sans_rien_ecrire(magasin, dossier_demo_copie, table, motif):
    octets = chemin_couche("objectifs", dossier_demo_copie).read_bytes()
    with pytest.raises(ErreurDonnees, match=motif):
        _facade(magasin, "admin@bassin.fr").ecrire_objectifs(table, dossier_demo_copie)
    assert chemin_couche("objectifs", dossier_demo_copie).read_bytes() == octets


def test_referent_ne_peut_pas_fixer_les_objectifs(magasin, dossier_demo_copie):
    octets = chemin_couche("objectifs", dossier_demo_copie).read_bytes()
    with pytest.raises(ErreurDonnees, match="objectifs"):
        _facade(magasin, "ref@sete.fr").ecrire_objectifs(
            pd.DataFrame({"territoire": ["34301"], "annee": [2030], "surface_m2": [1.0]}), dossier_demo_copie)
    assert chemin_couche("objectifs", dossier_demo_copie).read_bytes() == octets


def test_parametres_du_territoire_avec_source_bornes_et_droits(magasin, dossier_demo_copie):
    import json

    from donnees.config import chemin_territoire
    from indicateurs.parametres import lire_parametres

    admin = _facade(magasin, "admin@bassin.fr")
    chemin = chemin_territoire(dossier_demo_copie)
    octets = chemin.read_bytes()
    with pytest.raises(ErreurDonnees, match="source manquante pour pluie_annuelle_mm"):
        admin.ecrire_parametres({"pluie_annuelle_mm": 650}, {}, lire_parametres, dossier_demo_copie)
    with pytest.raises(ErreurDonnees, match="hors des bornes"):
        admin.ecrire_parametres({"pluie_annuelle_mm": 99999}, {"pluie_annuelle_mm": "essai"}, lire_parametres,
                                dossier_demo_copie)
    with pytest.raises(ErreurDonnees, match="paramètres"):
        _facade(magasin, "ref@sete.fr").ecrire_parametres({"pluie_annuelle_mm": 650}, {"pluie_annuelle_mm": "x"},
                                                           lire_parametres, dossier_demo_copie)
    assert chemin.read_bytes() == octets  # rien d'écrit après trois refus
    diff = admin.ecrire_parametres({"pluie_annuelle_mm": 650}, {"pluie_annuelle_mm": "Normales Météo-France Sète"},
                                   lire_parametres, dossier_demo_copie)
    assert diff["pluie_annuelle_mm"] == [None, 650.0]
    territoire = json.loads(chemin.read_text(encoding="utf-8"))
    assert territoire["parametres"] == {"pluie_annuelle_mm": 650.0}
    assert territoire["sources_parametres"] == {"pluie_annuelle_mm": "Normales Météo-France Sète"}
    assert lire_parametres(territoire["parametres"])["pluie_annuelle_mm"] == 650.0
    assert magasin.lire_journal().iloc[-1]["table_cible"] == "parametres"


def test_regles_du_potentiel_modifiees_par_le_syndicat(magasin, dossier_demo_copie):
    """Règles du potentiel (clé ``potentiel`` de territoire.json) : poids dont la somme ne vaut pas celle déclarée,
    valeur hors bornes, source absente, référent : refusés sans rien écrire ; sinon écrites et journalisées."""
    import json

    from donnees.config import chemin_territoire
    from indicateurs.potentiel import lire_regles_potentiel

    admin = _facade(magasin, "admin@bassin.fr")
    chemin = chemin_territoire(dossier_demo_copie)
    octets = chemin.read_bytes()
    parametres_avant = json.loads(octets)["parametres"]
    source = {"poids_impermeabilite": "Comité de pilotage du 3 décembre 2026",
              "poids_chaleur": "Comité de pilotage du 3 décembre 2026"}
    with pytest.raises(ErreurDonnees, match="somme vaut 1,1 au lieu de 1"):
        admin.ecrire_parametres({"poids_impermeabilite": 0.6}, source, lire_regles_potentiel, dossier_demo_copie,
                                "potentiel")
    with pytest.raises(ErreurDonnees, match="hors des bornes"):
        admin.ecrire_parametres({"facteur_cavite": 2}, {"facteur_cavite": "essai"}, lire_regles_potentiel,
                                dossier_demo_copie, "potentiel")
    with pytest.raises(ErreurDonnees, match="Paramètres du potentiel : source manquante"):
        admin.ecrire_parametres({"facteur_cavite": 0.4}, {}, lire_regles_potentiel, dossier_demo_copie,
                                "potentiel")
    with pytest.raises(ErreurDonnees):
        _facade(magasin, "ref@sete.fr").ecrire_parametres({"facteur_cavite": 0.4}, {"facteur_cavite": "x"},
                                                           lire_regles_potentiel, dossier_demo_copie, "potentiel")
    assert chemin.read_bytes() == octets
    diff = admin.ecrire_parametres({"poids_impermeabilite": 0.6, "poids_chaleur": 0.1}, source,
                                   lire_regles_potentiel, dossier_demo_copie, "potentiel")
    assert diff["poids_impermeabilite"] == [None, 0.6] and diff["poids_chaleur"] == [None, 0.1]
    territoire = json.loads(chemin.read_text(encoding="utf-8"))
    assert territoire["potentiel"] == {"poids_impermeabilite": 0.6, "poids_chaleur": 0.1}
    assert territoire["sources_potentiel"] == source
    assert territoire["parametres"] == parametres_avant  # l'autre famille n'est pas touchée
    assert lire_regles_potentiel(territoire["potentiel"])["poids_impermeabilite"] == 0.6
    assert magasin.lire_journal().iloc[-1]["table_cible"] == "potentiel"


def test_nouvelles_surfaces_du_syndicat_pour_le_ratio_sdage(magasin, dossier_demo_copie):
    avant = lire_couche("nouvelles_surfaces", dossier_demo_copie)
    ligne = pd.DataFrame({"code_insee": ["34301"], "annee": [2031], "surface_m2": [1200.0],
                          "source": ["Déclaration de la commune (permis 2031)"]})
    diff = _facade(magasin, "admin@bassin.fr").ecrire_nouvelles_surfaces(pd.concat([avant, ligne]),
                                                                        dossier_demo_copie)
    assert diff == {"34301 2031": [None, [1200.0, "Déclaration de la commune (permis 2031)"]]}
    assert len(lire_couche("nouvelles_surfaces", dossier_demo_copie)) == len(avant) + 1
    octets = chemin_couche("nouvelles_surfaces", dossier_demo_copie).read_bytes()
    sans_source = ligne.assign(source=[""])
    with pytest.raises(ErreurDonnees, match="source"):
        _facade(magasin, "admin@bassin.fr").ecrire_nouvelles_surfaces(sans_source, dossier_demo_copie)
    with pytest.raises(ErreurDonnees, match="paramètres"):
        _facade(magasin, "ref@sete.fr").ecrire_nouvelles_surfaces(ligne, dossier_demo_copie)
    assert chemin_couche("nouvelles_surfaces", dossier_demo_copie).read_bytes() == octets
