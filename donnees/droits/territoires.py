"""Droits dans une instance à plusieurs territoires (voir :mod:`donnees.instance`).

Règle : les droits sont ceux du compte **du territoire** : comptes et sessions vivent dans la base de chaque
territoire, et l'identité se prouve dans chacun (session ouverte avec le mot de passe de ce territoire, ou par le
fournisseur OIDC). Un compte d'un territoire ne vaut rien dans un autre : même adresse ou non, une session de A
est inconnue de la base de B. Une adresse ne suffit pas : l'administrateur d'un territoire peut créer un compte à
n'importe quelle adresse dans le sien, il ne doit pas lire pour autant les montants d'un autre territoire.

Vue inter-territoires d'un financeur (page « Territoires ») : chiffres publics de tous les territoires ; montants
(coûts, aides par financeur) d'un territoire seulement si l'utilisateur de CE territoire peut
``lire_details`` — les territoires « qu'il finance » sont ceux où un compte financeur actif l'y autorise et où il
s'est connecté.
"""

from __future__ import annotations

from donnees.comptes import VISITEUR, Utilisateur
from donnees.droits.politique import peut
from donnees.magasin import Magasin
from donnees.sessions import lire_session


def lire_utilisateur_territoire(magasin: Magasin, jeton: str | None) -> Utilisateur:
    """Utilisateur d'un territoire : compte actif de la session ``jeton`` relu dans la base de ce territoire
    (``magasin``) ; le visiteur sans jeton, ou si la session n'y est pas valide."""
    if not jeton:
        return VISITEUR
    return lire_session(magasin, jeton).utilisateur or VISITEUR


def montants_visibles(utilisateur_territoire: Utilisateur) -> bool:
    """Vrai si les montants (coûts, aides par financeur) d'un territoire sont montrés à cet utilisateur **de ce
    territoire** (financeur, référent sur ses communes, syndicat) ; faux pour le public."""
    return peut(utilisateur_territoire, "lire_details")
